//! A resumed `landcarbon run` reuses a chunk only when it was computed from the same inputs,
//! configuration, survey and program version, with its files intact: otherwise the chunk is
//! recomputed (and `run.json` says so), so the resumed run equals a fresh one. A second run on
//! an output folder in use is refused, and a lock left by a killed run does not block.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_landcarbon"))
}

/// A small synthetic county (two surveys of four tiles) in `dir`.
fn demo(dir: &Path) {
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
}

/// A one-survey pipeline over the demo's 2020 tiles (no accounting: fast), written as `name`.
fn pipeline(data: &Path, name: &str, metrics_res_m: f64) -> PathBuf {
    let text = format!(
        r#"
[chunk]
buffer_m = 20.0
[metrics]
res_m = {metrics_res_m:?}
[carbon]
class = "forest"
[calibrate]
predictors = ["zmean", "zmax", "zq90", "cover"]
[run]
output = "results"
[[run.surveys]]
year = 2020
inputs = ["lidar_points_2020/*.laz"]
plots = "field_plots_2020.csv"
response = "agb_t_ha"
"#
    );
    let p = data.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const PRODUCTS: &[&str] = &[
    "2020/dtm.tif",
    "2020/chm.tif",
    "2020/metrics.tif",
    "2020/trees.csv",
    "2020/plot_metrics.csv",
    "2020/model/model.json",
    "2020/carbon/agc.tif",
    "2020/carbon/total.tif",
];

fn run(cfg: &Path, out: &Path) -> Output {
    bin()
        .args(["run", "-q"])
        .arg(cfg)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

fn run_ok(cfg: &Path, out: &Path) {
    let o = run(cfg, out);
    assert!(
        o.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn record(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap()
}

/// The reasons `run.json` gives for the chunks it recomputed.
fn recomputed(out: &Path) -> Vec<String> {
    record(out)["recomputed"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|r| r[2].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Every product of `a` equals the one of `b` byte for byte (output folders masked in text).
fn assert_same_products(a: &Path, b: &Path, what: &str) {
    let mask = |bytes: Vec<u8>, dir: &Path| -> Vec<u8> {
        match String::from_utf8(bytes) {
            Ok(t) => t.replace(&dir.display().to_string(), "OUT").into_bytes(),
            Err(e) => e.into_bytes(),
        }
    };
    for p in PRODUCTS {
        let x = mask(std::fs::read(a.join(p)).unwrap(), a);
        let y = mask(std::fs::read(b.join(p)).unwrap(), b);
        assert!(x == y, "{what}: {p} differs from a fresh run");
    }
}

#[test]
fn a_changed_tile_recomputes_its_chunks() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    demo(&data);
    let cfg = pipeline(&data, "p.toml", 20.0);
    let a = d.path().join("a");
    run_ok(&cfg, &a);
    // Another flight over the same tile: same extent, other points. (With a 20 m buffer every
    // chunk of the 2×2 tiles reads it.)
    let tile = data.join("lidar_points_2020/520000_3400000.laz");
    std::fs::copy(data.join("lidar_points_2025/520000_3400000.laz"), &tile).unwrap();
    run_ok(&cfg, &a);
    let why = recomputed(&a);
    assert!(
        !why.is_empty() && why.iter().all(|w| w == "inputs changed"),
        "the chunks reading the replaced tile are recomputed for changed inputs: {why:?}"
    );
    let b = d.path().join("b");
    run_ok(&cfg, &b);
    assert_same_products(&a, &b, "after replacing a tile");
}

#[test]
fn a_changed_parameter_recomputes_every_chunk() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    demo(&data);
    let a = d.path().join("a");
    run_ok(&pipeline(&data, "p.toml", 20.0), &a);
    let cfg10 = pipeline(&data, "p10.toml", 10.0);
    run_ok(&cfg10, &a);
    let why = recomputed(&a);
    let total = record(&a)["chunks_total"].as_u64().unwrap() as usize;
    assert_eq!(why.len(), total, "every chunk is recomputed: {why:?}");
    assert!(why.iter().all(|w| w == "config changed"), "{why:?}");
    let b = d.path().join("b");
    run_ok(&cfg10, &b);
    assert_same_products(&a, &b, "after changing [metrics] res_m");
}

#[test]
fn a_chunk_file_corrupted_at_its_size_is_recomputed() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    demo(&data);
    let cfg = pipeline(&data, "p.toml", 20.0);
    let a = d.path().join("a");
    run_ok(&cfg, &a);
    // Change one digit of the trees: still valid JSON, same size, other content.
    let f = a.join("2020/chunks/c000000/trees.json");
    let mut bytes = std::fs::read(&f).unwrap();
    let len = bytes.len();
    let i = (len / 2..len)
        .find(|&i| (b'1'..=b'8').contains(&bytes[i]))
        .expect("a digit");
    bytes[i] += 1;
    std::fs::write(&f, &bytes).unwrap();
    assert_eq!(std::fs::metadata(&f).unwrap().len() as usize, len);
    run_ok(&cfg, &a);
    assert_eq!(
        recomputed(&a),
        vec!["chunk files corrupt or missing".to_string()]
    );
    let b = d.path().join("b");
    run_ok(&cfg, &b);
    assert_same_products(&a, &b, "after corrupting a chunk file");
}

#[test]
fn two_surveys_with_one_year_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    demo(&data);
    let cfg = data.join("same_year.toml");
    std::fs::write(
        &cfg,
        r#"
[run]
output = "results"
[[run.surveys]]
year = 2020
inputs = ["lidar_points_2020/*.laz"]
[[run.surveys]]
year = 2020
inputs = ["lidar_points_2025/*.laz"]
"#,
    )
    .unwrap();
    let out = d.path().join("a");
    let o = run(&cfg, &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("both have year 2020"), "{err}");
    assert!(
        !out.join("2020/manifest").exists(),
        "nothing computed: {err}"
    );
}

#[test]
fn a_second_run_on_a_folder_in_use_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    demo(&data);
    let cfg = pipeline(&data, "p.toml", 20.0);
    let a = d.path().join("a");
    let mut first = bin()
        .args(["run", "-q", "--threads", "1"])
        .arg(&cfg)
        .arg("-o")
        .arg(&a)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = first.id();
    let lock = a.join(".landcarbon.lock");
    let t0 = Instant::now();
    while !std::fs::read_to_string(&lock).is_ok_and(|t| t.contains("pid")) {
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run ended before taking the lock"
        );
        assert!(t0.elapsed() < Duration::from_secs(60), "no lock taken");
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = run(&cfg, &a);
    let running = first.try_wait().unwrap().is_none();
    let err = String::from_utf8_lossy(&o.stderr);
    first.kill().unwrap(); // SIGKILL: its lock file stays behind
    let _ = first.wait();
    assert!(running, "the first run ended before the second was refused");
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("pid {pid}")),
        "names the holder: {err}"
    );
    assert!(lock.exists());
    // The killed run's lock file does not block, and its temporary files are cleaned up.
    run_ok(&cfg, &a);
    let mut stack = vec![a.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                let name = e.file_name().to_string_lossy().to_string();
                assert!(
                    !name.contains(".partial-"),
                    "left over: {}",
                    e.path().display()
                );
            }
        }
    }
}
