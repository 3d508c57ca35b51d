//! `landcarbon run` checks its whole configuration before it creates the output folder or
//! reads a point: a bad key fails at once, naming the configuration file and the key, instead
//! of after the LiDAR stage (or never, as an `[account]` without patches) (issue #15 pt 7).

use std::path::Path;
use std::process::Command;

/// Writes `pipeline.toml` (one survey of the bundled sample) with `extra` appended, runs it,
/// and returns stderr after checking the fatal exit, that the output folder was never
/// created, and that the message names the file and every `keys` fragment.
fn refused(dir: &Path, extra: &str, keys: &[&str]) -> String {
    let tile = landcarbon::testdata::bundled("isprs/samp24-utm.laz");
    let cfg = dir.join("pipeline.toml");
    std::fs::write(
        &cfg,
        format!(
            "[run]\noutput = \"out\"\n[[run.surveys]]\nyear = 2020\ninputs = [\"{}\"]\n{extra}\n",
            tile.display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_landcarbon"))
        .args(["-q", "run"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{extra}: {err}");
    assert!(err.contains("pipeline.toml"), "{extra}: {err}");
    for k in keys {
        assert!(err.contains(k), "{extra}: no '{k}' in {err}");
    }
    assert!(
        !dir.join("out").exists(),
        "{extra}: the output folder was created before the configuration was checked"
    );
    err
}

#[test]
fn bad_stage_values_fail_before_any_point() {
    let d = tempfile::tempdir().unwrap();
    refused(d.path(), "[metrics]\nres_m = 0.0", &["[metrics]", "res_m"]);
    refused(
        d.path(),
        "[metrics]\nres_m = -20.0",
        &["[metrics]", "res_m"],
    );
    refused(d.path(), "[dtm]\nres_m = 0.0", &["[dtm]", "res_m"]);
    refused(d.path(), "[chm]\nres_m = -1.0", &["[chm]", "res_m"]);
    refused(
        d.path(),
        "[chunk]\nbuffer_m = -5.0",
        &["[chunk]", "buffer_m"],
    );
    // Every problem at once, not one per attempt.
    refused(
        d.path(),
        "[chm]\nres_m = -1.0\n[metrics]\nres_m = 0.0",
        &["[chm]", "[metrics]"],
    );
}

#[test]
fn unknown_predictor() {
    let d = tempfile::tempdir().unwrap();
    let e = refused(
        d.path(),
        "[calibrate]\npredictors = [\"zq95\", \"zq99\"]",
        &["[calibrate]", "predictors", "zq99"],
    );
    assert!(!e.contains("zq95,"), "{e}");
    // A column of the survey's plot file is a known predictor.
    let plots = d.path().join("plots.csv");
    std::fs::write(
        &plots,
        "plot_id,x,y,radius_m,agb_t_ha,age\nP1,0,0,15,10,30\n",
    )
    .unwrap();
    let tile = landcarbon::testdata::bundled("isprs/samp24-utm.laz");
    let cfg = d.path().join("ok.toml");
    std::fs::write(
        &cfg,
        format!(
            "[calibrate]\npredictors = [\"zq95\", \"age\"]\n[run]\noutput = \"out2\"\n[[run.surveys]]\nyear = 2020\ninputs = [\"{}\"]\nplots = \"plots.csv\"\nresponse = \"agb_t_ha\"\n",
            tile.display()
        ),
    )
    .unwrap();
    // `plan` checks the configuration as `run` does, then reads only headers.
    let out = Command::new(env!("CARGO_BIN_EXE_landcarbon"))
        .args(["-q", "plan"])
        .arg(&cfg)
        .arg("-o")
        .arg(d.path().join("shards.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn survey_response_not_in_its_plot_file() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("plots.csv"), "plot_id,x,y,agb\nP1,0,0,10\n").unwrap();
    // `[[run.surveys]]` keys must come inside the survey table: rewrite the survey.
    let tile = landcarbon::testdata::bundled("isprs/samp24-utm.laz");
    let cfg = d.path().join("pipeline.toml");
    std::fs::write(
        &cfg,
        format!(
            "[run]\noutput = \"out\"\n[[run.surveys]]\nyear = 2020\ninputs = [\"{}\"]\nplots = \"plots.csv\"\nresponse = \"agb_t_ha\"\n",
            tile.display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_landcarbon"))
        .args(["-q", "run"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("pipeline.toml") && err.contains("response") && err.contains("agb_t_ha"),
        "{err}"
    );
    assert!(!d.path().join("out").exists());
}

#[test]
fn account_section_that_could_not_run() {
    let d = tempfile::tempdir().unwrap();
    // Silently skipped before: an [account] without patches.
    refused(
        d.path(),
        "[account]\nyear_t1 = 2020\npatches_t2 = \"p2.gpkg\"",
        &["[account]", "patches_t1"],
    );
    // Too few Monte Carlo draws, found before the LiDAR stage rather than after it.
    std::fs::write(d.path().join("p1.gpkg"), b"").unwrap();
    std::fs::write(d.path().join("p2.gpkg"), b"").unwrap();
    refused(
        d.path(),
        "[account]\npatches_t1 = \"p1.gpkg\"\npatches_t2 = \"p2.gpkg\"\nmc_draws = 5",
        &["[account]", "mc_draws"],
    );
    refused(
        d.path(),
        "[account]\npatches_t1 = \"p1.gpkg\"\npatches_t2 = \"nowhere.gpkg\"",
        &["[account]", "patches_t2", "nowhere.gpkg"],
    );
}
