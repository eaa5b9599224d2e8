//! Links the `ecs-controller` binary with its relative relocations packed (DT_RELR) when the glibc it
//! will run on reads them: the position-independent binary's 2.1 MB table of relocations, all read at
//! start and resident after, becomes 17 KB (about 2 MiB less resident memory).
//!
//! glibc reads DT_RELR from 2.36 (Debian 12, Ubuntu 24.04; the image carries the glibc of the machine
//! that built it, hack/image-context.sh). The linker marks such a binary as needing GLIBC_ABI_DT_RELR,
//! so an older glibc would refuse it at start: the option is passed only when this machine's glibc is
//! 2.36 or newer and the build is for this machine (not a cross build).
//!
//! Optimized builds for Linux also get the linker script `hot-text.ld`, which places the functions a
//! running controller executes (about 6 of the 11 MB of code) together, ahead of those it does not:
//! the kernel maps code in 64 KiB around each page a process faults in, so scattered among the cold
//! ones they made nearly all of the code resident. hack/hot-text.sh regenerates the script.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=hot-text.ld");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let linux = var("CARGO_CFG_TARGET_OS") == "linux";
    if linux && var("OPT_LEVEL") != "0" {
        let script = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("hot-text.ld");
        println!("cargo::rustc-link-arg-bins=-Wl,-T,{}", script.display());
    }
    let native = var("HOST") == var("TARGET");
    let linux_gnu = linux && var("CARGO_CFG_TARGET_ENV") == "gnu";
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
