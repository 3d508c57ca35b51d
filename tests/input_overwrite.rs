//! An output that resolves to one of the command's inputs is refused before anything is
//! written: the input is left byte-identical and the error names both (issue #15 pt 7).

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_landcarbon"))
}

fn sample() -> PathBuf {
    landcarbon::testdata::bundled("isprs/samp24-utm.laz")
}

/// Runs the binary in `dir`, expects the fatal exit 2 with an error naming `input`, and
/// checks that the input is unchanged.
fn refused(dir: &Path, args: &[&str], input: &Path) -> String {
    let before = std::fs::read(input).unwrap();
    let out = bin().current_dir(dir).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    let name = input.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        err.contains("would be overwritten") && err.contains(&name),
        "{args:?}: {err}"
    );
    assert_eq!(
        std::fs::read(input).unwrap(),
        before,
        "{args:?} changed the input"
    );
    err
}

fn fixture(dir: &Path) -> PathBuf {
    let p = dir.join("plots.csv");
    std::fs::copy(landcarbon::testdata::bundled("biomass/ols_fixture.csv"), &p).unwrap();
    p
}

#[test]
fn metrics_output_equal_to_its_plots_file() {
    let d = tempfile::tempdir().unwrap();
    let plots = fixture(d.path());
    let s = sample();
    refused(
        d.path(),
        &[
            "metrics",
            s.to_str().unwrap(),
            "--plots",
            "plots.csv",
            "-o",
            "plots.csv",
        ],
        &plots,
    );
    // Through another spelling of the same path.
    std::fs::create_dir(d.path().join("sub")).unwrap();
    refused(
        d.path(),
        &[
            "metrics",
            s.to_str().unwrap(),
            "--plots",
            "plots.csv",
            "-o",
            "sub/../plots.csv",
        ],
        &plots,
    );
}

#[test]
fn calibrate_output_equal_to_its_plots_file() {
    let d = tempfile::tempdir().unwrap();
    let plots = fixture(d.path());
    let args = [
        "calibrate",
        "--plots",
        "plots.csv",
        "--response",
        "agb_t_ha",
    ];
    let mut a = args.to_vec();
    a.extend(["-o", "./plots.csv"]);
    refused(d.path(), &a, &plots);
    // Through a symbolic link.
    std::os::unix::fs::symlink(&plots, d.path().join("link.csv")).unwrap();
    let mut a = args.to_vec();
    a.extend(["-o", "link.csv"]);
    refused(d.path(), &a, &plots);
    // The summary written beside the model (`<stem>.txt`) counts as an output too.
    let notes = d.path().join("model.txt");
    std::fs::write(&notes, "field notes\n").unwrap();
    let mut a = [
        "calibrate",
        "--plots",
        "plots.csv",
        "--response",
        "agb_t_ha",
    ]
    .to_vec();
    a.extend(["--trees", "model.txt", "-o", "model.json"]);
    refused(d.path(), &a, &notes);
}

#[test]
fn raster_outputs_equal_to_an_input_tile() {
    let d = tempfile::tempdir().unwrap();
    let tile = d.path().join("tile.tif");
    // A point cloud whose name ends in .tif is still an input the DTM must not replace.
    std::fs::copy(sample(), &tile).unwrap();
    refused(d.path(), &["dtm", "tile.tif", "-o", "tile.tif"], &tile);
    refused(d.path(), &["chm", "tile.tif", "-o", "tile.tif"], &tile);
}

#[test]
fn carbon_output_folder_holding_its_model() {
    let d = tempfile::tempdir().unwrap();
    let model = d.path().join("model.json");
    std::fs::write(&model, "{}").unwrap();
    let metrics = d.path().join("metrics.tif");
    std::fs::write(&metrics, "not read").unwrap();
    refused(
        d.path(),
        &[
            "carbon",
            "--metrics",
            "metrics.tif",
            "--model",
            "model.json",
            "-o",
            ".",
        ],
        &model,
    );
}

#[test]
fn a_distinct_output_is_accepted() {
    let d = tempfile::tempdir().unwrap();
    fixture(d.path());
    let out = bin()
        .current_dir(d.path())
        .args([
            "-q",
            "calibrate",
            "--plots",
            "plots.csv",
            "--response",
            "agb_t_ha",
        ])
        .args(["--no-figures", "-o", "model.json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(d.path().join("model.json").exists());
}

#[test]
fn help_says_what_an_existing_output_becomes() {
    let help = |cmd: &str| {
        let out = bin().args([cmd, "--help"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    for cmd in [
        "dtm",
        "chm",
        "metrics",
        "calibrate",
        "carbon",
        "ground",
        "account",
    ] {
        assert!(help(cmd).contains("overwritten"), "{cmd} --help");
    }
    let run = help("run");
    assert!(
        run.contains("resumed into") && run.contains("recomputed"),
        "{run}"
    );
}
