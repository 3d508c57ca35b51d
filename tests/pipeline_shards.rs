//! Sharded runs without a cluster: `plan --shards 3`, some of its shards run with
//! `run --plan --shard i/3`, one "failed" (never run), then `plan --missing` and its shards,
//! then `merge` — the final tables and rasters equal a single-process run byte for byte.
//! The same flow on a real Slurm is scripts/slurm/equality-test.sh.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_landcarbon"))
}

fn ok(o: Output, what: &str) -> Output {
    assert!(
        o.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn lc(args: &[&str], paths: &[&Path]) -> Output {
    let mut c = bin();
    c.arg("-q");
    for a in args {
        c.arg(a);
    }
    for p in paths {
        c.arg(p);
    }
    c.output().unwrap()
}

const PRODUCTS: &[&str] = &[
    "account/F1_units.csv",
    "account/F2_county.csv",
    "account/F3_transitions.csv",
    "2020/dtm.tif",
    "2020/chm.tif",
    "2020/metrics.tif",
    "2020/trees.csv",
    "2020/plot_metrics.csv",
    "2020/carbon/agc.tif",
    "2020/carbon/total.tif",
    "2025/dtm.tif",
    "2025/carbon/agc.tif",
    "2025/carbon/se.tif",
    "2025/trees.csv",
];

fn plan_json(p: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn shards_from_a_missing_plan_complete_a_run_identical_to_one_process() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    ok(
        lc(
            &["synth-demo", "--cells", "5", "--pulses", "2", "-o"],
            &[&data],
        ),
        "synth-demo",
    );
    let cfg = data.join("pipeline.toml");
    let single = d.path().join("single");
    ok(lc(&["run"], &[&cfg, Path::new("-o"), &single]), "run");

    let sharded = d.path().join("sharded");
    let plan = d.path().join("shards.json");
    ok(
        lc(
            &["plan", "--shards", "3", "--output-dir"],
            &[&sharded, Path::new("-o"), &plan, &cfg],
        ),
        "plan",
    );
    let p = plan_json(&plan);
    assert_eq!(p["n_shards"], 3);
    assert_eq!(p["n_chunks"], 8, "2 surveys x 4 chunks");
    let run_shard = |plan: &Path, i: usize, n: usize| -> Output {
        let mut c = bin();
        c.args(["run", "-q"]).arg(&cfg).arg("--plan").arg(plan);
        c.arg("--shard")
            .arg(format!("{i}/{n}"))
            .arg("-o")
            .arg(&sharded);
        c.output().unwrap()
    };
    // Shard 2 "fails": it never runs.
    ok(run_shard(&plan, 0, 3), "shard 0/3");
    ok(run_shard(&plan, 1, 3), "shard 1/3");
    let early = lc(&["merge"], &[&cfg, Path::new("-o"), &sharded]);
    assert!(
        !early.status.success(),
        "merge must refuse while chunks are missing"
    );
    assert!(String::from_utf8_lossy(&early.stderr).contains("not complete"));

    // A shard manifest for 3 shards is refused with another N or another output folder.
    let wrong_n = run_shard(&plan, 0, 2);
    assert!(!wrong_n.status.success());
    assert!(String::from_utf8_lossy(&wrong_n.stderr).contains("shard(s)"));
    let wrong_out = {
        let mut c = bin();
        c.args(["run", "-q"]).arg(&cfg).arg("--plan").arg(&plan);
        c.args(["--shard", "2/3", "-o"])
            .arg(d.path().join("elsewhere"));
        c.output().unwrap()
    };
    assert!(!wrong_out.status.success());
    assert!(String::from_utf8_lossy(&wrong_out.stderr).contains("give the same -o"));

    // The missing plan holds exactly shard 2's chunks, dealt again from shard 0.
    let missing = d.path().join("missing.json");
    ok(
        lc(
            &["plan", "--missing", "--shards", "3", "--output-dir"],
            &[&sharded, Path::new("-o"), &missing, &cfg],
        ),
        "plan --missing",
    );
    let m = plan_json(&missing);
    let left: Vec<serde_json::Value> = p["shards"][2].as_array().unwrap().clone();
    assert_eq!(m["n_chunks"].as_u64().unwrap() as usize, left.len());
    let mut planned: Vec<serde_json::Value> = m["shards"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s.as_array().unwrap().clone())
        .collect();
    planned.sort_by_key(|v| v.to_string());
    let mut want = left.clone();
    want.sort_by_key(|v| v.to_string());
    assert_eq!(
        planned, want,
        "plan --missing must hold exactly the chunks left"
    );
    let n = m["n_shards"].as_u64().unwrap() as usize;
    for i in 0..n {
        ok(run_shard(&missing, i, n), "missing shard");
    }
    let rec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sharded.join(format!("run-missing-0-of-{n}.json"))).unwrap(),
    )
    .unwrap();
    assert!(rec["chunks_run"].as_u64().unwrap() >= 1);
    assert_eq!(
        rec["chunks_resumed"], 0,
        "a missing shard runs only chunks not yet done"
    );
    // Nothing is left to plan.
    ok(
        lc(
            &["plan", "--missing", "--shards", "3", "--output-dir"],
            &[&sharded, Path::new("-o"), &missing, &cfg],
        ),
        "plan --missing (none left)",
    );
    assert_eq!(plan_json(&missing)["n_chunks"], 0);

    ok(lc(&["merge"], &[&cfg, Path::new("-o"), &sharded]), "merge");
    let mask = |p: &PathBuf, dir: &Path| -> Vec<u8> {
        let bytes = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        match String::from_utf8(bytes) {
            Ok(t) => t.replace(&dir.display().to_string(), "OUT").into_bytes(),
            Err(e) => e.into_bytes(),
        }
    };
    for p in PRODUCTS {
        assert!(
            mask(&single.join(p), &single) == mask(&sharded.join(p), &sharded),
            "{p} differs between the single-process and the sharded run"
        );
    }
}
