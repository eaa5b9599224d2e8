//! The controller process's footprint, read from /proc.

/// Resident memory now and its high-water mark (KiB), CPU seconds used (user + system).
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Footprint {
    pub rss_kib: u64,
    pub hwm_kib: u64,
    /// Of `rss_kib`, the pages of mapped files (the binary's code and data, shared libraries)...
    pub file_kib: u64,
    /// ... and the anonymous ones (heap, stacks).
    pub anon_kib: u64,
    pub cpu_seconds: f64,
}

/// `None` once the process is gone.
pub fn footprint(pid: u32) -> Option<Footprint> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    let cpu_seconds = cpu_seconds(pid)?;
    Some(Footprint {
        rss_kib: field("VmRSS:")?,
        hwm_kib: field("VmHWM:")?,
        file_kib: field("RssFile:")?,
        anon_kib: field("RssAnon:")?,
        cpu_seconds,
    })
}

/// CPU seconds the process used (user + system); `None` once it is gone.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may hold spaces): state is field 3, utime 14 and stime 15.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ, what /proc reports in, is 100 on Linux.
    Some(ticks as f64 / 100.0)
}

/// The processes of the environment the benchmark runs against (`$ECS_ENV_DIR/pids/<name>.pid`, as
/// hack/env-up.sh writes them), by name: kube-apiserver, etcd, moto_server, kube-controller-manager.
/// Empty without `ECS_ENV_DIR`.
pub fn environment() -> Vec<(String, u32)> {
    std::env::var_os("ECS_ENV_DIR").map_or_else(Vec::new, |dir| environment_in(std::path::Path::new(&dir)))
}

fn environment_in(dir: &std::path::Path) -> Vec<(String, u32)> {
    let Ok(entries) = std::fs::read_dir(dir.join("pids")) else {
        return Vec::new();
    };
    let mut found: Vec<(String, u32)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.strip_suffix(".pid")?.to_string();
            let pid = std::fs::read_to_string(e.path()).ok()?.trim().parse().ok()?;
            Some((name, pid))
        })
        .collect();
    found.sort();
    found
}

/// CPU seconds each of the environment's processes used so far.
pub fn environment_cpu() -> std::collections::BTreeMap<String, f64> {
    environment()
        .into_iter()
        .filter_map(|(name, pid)| Some((name, cpu_seconds(pid)?)))
        .collect()
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_is_read_from_its_pid_files() {
        let dir = std::env::temp_dir().join(format!("bench-procfs-{}", std::process::id()));
        let pids = dir.join("pids");
        std::fs::create_dir_all(&pids).expect("temp dir");
        let me = std::process::id();
        std::fs::write(pids.join("kube-apiserver.pid"), format!("{me}\n")).expect("pid file");
        std::fs::write(pids.join("etcd.pid"), "not a pid").expect("pid file");
        std::fs::write(pids.join("notes.txt"), "42").expect("other file");
        let found = environment_in(&dir);
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(found, vec![("kube-apiserver".to_string(), me)]);
        assert!(cpu_seconds(me).is_some_and(|s| s >= 0.0));
        assert!(environment_in(&dir).is_empty(), "no pids directory: nothing");
    }
}
