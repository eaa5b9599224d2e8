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
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may hold spaces): state is field 3, utime 14 and stime 15.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Footprint {
        rss_kib: field("VmRSS:")?,
        hwm_kib: field("VmHWM:")?,
        file_kib: field("RssFile:")?,
        anon_kib: field("RssAnon:")?,
        // USER_HZ, what /proc reports in, is 100 on Linux.
        cpu_seconds: ticks as f64 / 100.0,
    })
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
