//! Links the `ecs-controller` binary with its relative relocations packed (DT_RELR) when the glibc it
//! will run on reads them: the position-independent binary's 2.1 MB table of relocations, all read at
//! start and resident after, becomes 17 KB (about 2 MiB less resident memory).
//!
//! glibc reads DT_RELR from 2.36 (Debian 12, Ubuntu 24.04; the image carries the glibc of the machine
//! that built it, hack/image-context.sh). The linker marks such a binary as needing GLIBC_ABI_DT_RELR,
//! so an older glibc would refuse it at start: the option is passed only when this machine's glibc is
//! 2.36 or newer and the build is for this machine (not a cross build).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let native = var("HOST") == var("TARGET");
    let linux_gnu = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    if native && linux_gnu && glibc_reads_relr() {
        println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether the glibc this build script runs on is 2.36 or newer.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn glibc_reads_relr() -> bool {
    // SAFETY: gnu_get_libc_version returns a static NUL-terminated string ("2.36").
    let version = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
    let mut parts = version
        .to_str()
        .unwrap_or_default()
        .split('.')
        .map(|p| p.parse::<u32>().ok());
    matches!((parts.next().flatten(), parts.next().flatten()), (Some(major), Some(minor)) if (major, minor) >= (2, 36))
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn glibc_reads_relr() -> bool {
    false
}
