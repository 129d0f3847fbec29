//! A real full disk for a test: the test binary runs the test again, once per phase, inside a new
//! user and mount namespace (`unshare -rm`) where a tmpfs of a few MiB is mounted on a directory,
//! so writes there meet `ENOSPC` exactly as on a full disk. The phases are separate processes in
//! the same namespace (the same tmpfs), so a later phase is a restart. Used by
//! `storage/tests/full_disk.rs` and the server's `tests/full_disk.rs`.
//!
//! The test in the parent process fails, with the phases' output, when a phase fails, when a phase
//! did not run at all, when they take longer than allowed, and when `unshare` or the mount is not
//! available: this test is never skipped silently.
#![allow(dead_code)]

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The tmpfs mount point, in a phase.
const DIR_VAR: &str = "SWITCHYARD_TMPFS_DIR";
/// A directory outside the tmpfs, shared by the phases and the parent.
const SHARED_VAR: &str = "SWITCHYARD_TMPFS_SHARED";
/// The phase a process runs.
const PHASE_VAR: &str = "SWITCHYARD_TMPFS_PHASE";

/// What a phase process gets.
pub struct Phase {
    /// The tmpfs.
    pub dir: PathBuf,
    /// A directory on the ordinary disk that every phase sees, to hand things on.
    pub shared: PathBuf,
    /// Which phase this process runs.
    pub name: String,
}

impl Phase {
    /// The phase this process runs, or `None` in the parent.
    pub fn current() -> Option<Phase> {
        let dir = std::env::var_os(DIR_VAR)?;
        let shared = std::env::var_os(SHARED_VAR)?;
        let name = std::env::var(PHASE_VAR).ok()?;
        Some(Phase { dir: dir.into(), shared: shared.into(), name })
    }

    /// Says the phase ran to its end (the parent checks for it).
    pub fn done(&self) {
        println!("{}", marker(&self.name));
    }
}

fn marker(phase: &str) -> String {
    format!("[tmpfs phase `{phase}` done]")
}

/// Runs the test `test` (its name as `cargo test -- --exact` wants it) of this binary once per
/// phase, in one namespace with a tmpfs of `size_kib` KiB, within `limit`.
pub fn run_phases(test: &str, size_kib: u64, phases: &[&str], limit: Duration) {
    let mount_point = tempfile::tempdir().expect("temp dir");
    let shared = tempfile::tempdir().expect("temp dir");
    let exe = std::env::current_exe().expect("the test binary");
    let out_path = shared.path().join("phases.out");
    let out = fs::File::create(&out_path).expect("output file");
    let err = out.try_clone().expect("output file");
    // `sh` mounts the tmpfs in the new namespace, then runs each phase; it stops at the first
    // that fails.
    let script = r#"mount -t tmpfs -o "size=${SWITCHYARD_TMPFS_SIZE}k" tmpfs "$SWITCHYARD_TMPFS_DIR" || { echo "tmpfs: cannot mount a tmpfs in the new namespace" >&2; exit 97; }
for phase in $SWITCHYARD_TMPFS_PHASES; do
  SWITCHYARD_TMPFS_PHASE=$phase "$@" || exit $?
done"#;
    let mut child = match Command::new("unshare")
        .args(["-rm", "sh", "-c", script, "sh"])
        .arg(&exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(DIR_VAR, mount_point.path())
        .env(SHARED_VAR, shared.path())
        .env("SWITCHYARD_TMPFS_SIZE", size_kib.to_string())
        .env("SWITCHYARD_TMPFS_PHASES", phases.join(" "))
        .env_remove(PHASE_VAR)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!(
            "this test needs util-linux `unshare` (user and mount namespaces) to put its data on a tiny tmpfs: {e}"
        ),
    };
    let steps = limit.as_millis() / 50;
    let mut status = None;
    for _ in 0..steps {
        if let Some(s) = child.try_wait().expect("waits") {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = || fs::read_to_string(&out_path).unwrap_or_default();
    let Some(status) = status else {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", child.id())]).status();
        let _ = child.wait();
        panic!("the phases took over {} s:\n{}", limit.as_secs(), output());
    };
    let text = output();
    if status.code() == Some(97) || text.contains("unshare: ") {
        panic!(
            "this test needs `unshare -rm` (unprivileged user and mount namespaces) and a tmpfs mount inside it, to fill a real disk; they are not available here ({status}):\n{text}"
        );
    }
    assert!(status.success(), "a phase failed ({status}):\n{text}");
    for phase in phases {
        assert!(text.contains(&marker(phase)), "phase `{phase}` did not run to its end:\n{text}");
    }
    eprintln!("{text}");
}

/// Writes zeros to `path` until the file system is full, then gives back `leave` bytes of it.
pub fn fill_up(path: &std::path::Path, leave: u64) {
    use std::io::Write;
    let mut file = fs::File::create(path).expect("filler");
    let chunk = vec![0u8; 4096];
    while file.write_all(&chunk).is_ok() {}
    let len = file.metadata().expect("stat").len();
    file.set_len(len.saturating_sub(leave)).expect("truncates");
}

/// A file of `bytes` zeros.
pub fn filler(path: &std::path::Path, bytes: usize) {
    fs::write(path, vec![0u8; bytes]).expect("filler");
}
