//! `landcarbon run` end to end on a tiny synthetic county, and its resumability: `kill -9` in
//! the middle of a run, then the same command again, gives byte-identical final tables and
//! rasters to an uninterrupted run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_landcarbon"))
}

fn demo(dir: &Path) -> PathBuf {
    let out = bin()
        .args(["synth-demo", "-q", "--cells", "6", "--pulses", "2", "-o"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("pipeline.toml")
}

/// The final products compared between runs (timings and logs excluded).
const PRODUCTS: &[&str] = &[
    "2020/dtm.tif",
    "2020/chm.tif",
    "2020/metrics.tif",
    "2020/trees.csv",
    "2020/plot_metrics.csv",
    "2020/model/model.json",
    "2020/carbon/agc.tif",
    "2020/carbon/total.tif",
    "2025/dtm.tif",
    "2025/carbon/agc.tif",
    "2025/carbon/bgc.tif",
    "2025/carbon/se.tif",
    "2025/trees.csv",
    "account/F1_units.csv",
    "account/F2_county.csv",
    "account/F3_transitions.csv",
];

fn run_to_end(cfg: &Path, out: &Path) {
    let o = bin()
        .args(["run", "-q"])
        .arg(cfg)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn killed_and_resumed_run_equals_an_uninterrupted_run() {
    let d = tempfile::tempdir().unwrap();
    let cfg = demo(&d.path().join("data"));
    let a = d.path().join("a");
    run_to_end(&cfg, &a);
    for p in PRODUCTS {
        assert!(a.join(p).exists(), "{p} missing after a full run");
    }
    let f2 = std::fs::read_to_string(a.join("account/F2_county.csv")).unwrap();
    assert!(
        f2.lines().count() >= 3,
        "a county table per county and the region: {f2}"
    );

    // Interrupted run: kill -9 once the first chunk is recorded, then resume.
    let b = d.path().join("b");
    let mut child = bin()
        .args(["run", "-q", "--threads", "1"])
        .arg(&cfg)
        .arg("-o")
        .arg(&b)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let manifest = b.join("2020/manifest");
    let mut killed = false;
    while t0.elapsed() < Duration::from_secs(300) {
        let n = std::fs::read_dir(&manifest)
            .map(|r| {
                r.filter(|e| {
                    e.as_ref()
                        .map(|e| e.file_name().to_string_lossy().ends_with(".json"))
                        .unwrap_or(false)
                })
                .count()
            })
            .unwrap_or(0);
        if n >= 1 {
            child.kill().unwrap(); // SIGKILL
            killed = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.wait();
    assert!(killed, "the run finished before it could be interrupted");
    assert!(
        !b.join("account/F1_units.csv").exists(),
        "an interrupted run must not leave final tables"
    );
    run_to_end(&cfg, &b);
    let rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("run.json")).unwrap()).unwrap();
    assert!(
        rec["chunks_resumed"].as_u64().unwrap() >= 1,
        "the resumed run must skip completed chunks: {}",
        rec["chunks_resumed"]
    );
    // Text products may name their own output folder (a/ or b/): compare with it masked.
    let mask = |bytes: Vec<u8>, dir: &Path| -> Vec<u8> {
        match String::from_utf8(bytes) {
            Ok(t) => t.replace(&dir.display().to_string(), "OUT").into_bytes(),
            Err(e) => e.into_bytes(),
        }
    };
    for p in PRODUCTS {
        let (x, y) = (
            mask(std::fs::read(a.join(p)).unwrap(), &a),
            mask(std::fs::read(b.join(p)).unwrap(), &b),
        );
        assert!(
            x == y,
            "{p} differs between the uninterrupted and the resumed run"
        );
    }
}
