//! Stamps the binary with the git commit it was built from (`keyward --version`, the start-up
//! log). A build outside a git checkout (a source tarball) says "unknown" rather than failing.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn main() {
    // A packager building from a tarball can say which commit it is.
    let commit = std::env::var("KEYWARD_GIT_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=KEYWARD_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves: HEAD itself (branch switch, detached commits) and the ref it
    // points at (a new commit on the branch). Worktrees keep HEAD in their own git dir.
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]).map(PathBuf::from) {
        println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
        if let Some(common) = git(&["rev-parse", "--git-common-dir"]).map(PathBuf::from) {
            println!(
                "cargo:rerun-if-changed={}",
                common.join("packed-refs").display()
            );
            if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
                println!("cargo:rerun-if-changed={}", common.join(head_ref).display());
            }
        }
    }
    println!("cargo:rerun-if-env-changed=KEYWARD_GIT_COMMIT");
}
