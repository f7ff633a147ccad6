//! A Python virtual environment with packages from the package registry,
//! for tests that speak through clients someone else wrote (`grpcio`,
//! `protobuf`'s JSON mapping). Made once per directory; later runs reuse it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `python` of a virtual environment at `dir` in which `probe` (Python
/// code, e.g. `import grpc`) runs, installing `packages` (pip requirement
/// specifiers) first when it does not.
pub fn venv(dir: &Path, packages: &[&str], probe: &str) -> PathBuf {
    let python = dir.join("bin/python");
    let ready = |py: &Path| {
        Command::new(py)
            .args(["-c", probe])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ready(&python) {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(dir)
            .status()
            .expect("python3 (CPython 3 with venv) is needed for this test");
        assert!(made.success(), "python3 -m venv failed");
        let installed = Command::new(dir.join("bin/pip"))
            .args(["install", "--quiet"])
            .args(packages)
            .status()
            .expect("run pip");
        assert!(installed.success(), "pip install {packages:?} failed");
        assert!(ready(&python), "{probe:?} fails after installing {packages:?}");
    }
    python
}
