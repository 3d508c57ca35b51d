//! Running the `landcarbon` binary from integration tests, as a user runs it. Included with
//! `#[path = "common/cli.rs"] mod cli;` (each test file uses part of it).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs `landcarbon ARGS`.
pub fn landcarbon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_landcarbon"))
        .args(args)
        .output()
        .expect("run landcarbon")
}

/// Runs `landcarbon ARGS` and fails the test, with its error output, unless it succeeds.
pub fn ok(args: &[&str]) -> Output {
    let out = landcarbon(args);
    assert!(
        out.status.success(),
        "landcarbon {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// [`landcarbon`] with `-q` (errors only).
pub fn quiet(args: &[&str]) -> Output {
    landcarbon(&[&["-q"], args].concat())
}

/// [`ok`] with `-q` (errors only).
pub fn ok_quiet(args: &[&str]) -> Output {
    ok(&[&["-q"], args].concat())
}

/// A path as an argument.
pub fn s(p: &Path) -> String {
    p.to_string_lossy().to_string()
}
