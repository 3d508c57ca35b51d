//! A chunked `landcarbon trees` run gives the same tree table and the same per-point tree IDs
//! as a single-file run: a synthetic scene written as one file and cut into 4 tiles with
//! irregular edges, run in tile mode (buffer from neighbouring tiles) and in grid mode.

use landcarbon::points;
use landcarbon::synth::{generate, SynthParams};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// The binary under test; `LANDCARBON_BIN` overrides Cargo's (for target folders shared
/// between checkouts, where another build may replace it).
fn bin() -> String {
    std::env::var("LANDCARBON_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_landcarbon").to_string())
}

fn landcarbon(args: &[&str]) {
    let out = Command::new(bin())
        .args(args)
        .output()
        .expect("run landcarbon");
    assert!(
        out.status.success(),
        "landcarbon {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// (x, y, z) in centimetres → treeIDs (sorted; synthetic returns may coincide), over every LAZ
/// file of `dir`, and the number of points.
type PointIds = HashMap<(i64, i64, i64), Vec<u64>>;

fn point_ids(dir: &Path) -> (PointIds, usize) {
    let mut m: PointIds = HashMap::new();
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let c = points::read(&e.unwrap().path()).unwrap();
        let ids = c.extra.get_u64("treeID").expect("integer treeID dimension");
        for (i, id) in ids.iter().enumerate() {
            let k = (
                (c.x[i] * 100.0).round() as i64,
                (c.y[i] * 100.0).round() as i64,
                (c.z[i] * 100.0).round() as i64,
            );
            m.entry(k).or_default().push(*id);
            n += 1;
        }
    }
    for v in m.values_mut() {
        v.sort_unstable();
    }
    (m, n)
}

/// Asserts two CSV tables are equal, naming the rows that differ.
fn same_table(a: &str, b: &str, what: &str) {
    if a == b {
        return;
    }
    let la: std::collections::BTreeSet<&str> = a.lines().collect();
    let lb: std::collections::BTreeSet<&str> = b.lines().collect();
    let short = |l: &&str| l.split(",\"").next().unwrap_or("").to_string();
    let only_a: Vec<String> = la.difference(&lb).take(5).map(short).collect();
    let only_b: Vec<String> = lb.difference(&la).take(5).map(short).collect();
    panic!(
        "{what}: tree tables differ ({} vs {} rows); only in the single-file run: {only_a:?}; only in the chunked run: {only_b:?}",
        la.len(),
        lb.len()
    );
}

#[test]
fn chunked_runs_equal_the_single_file_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = SynthParams {
        size_m: [120.0, 100.0],
        pulses_per_m2: 6.0,
        seed: 11,
        ..Default::default()
    };
    let (raw, truth) = generate(&p);
    // Height-normalized copy: the main checks are about the trees, not the ground surface.
    let mut cloud = raw.clone();
    for i in 0..cloud.len() {
        cloud.z[i] -= p.terrain_z(cloud.x[i], cloud.y[i]);
    }
    for f in ["single", "tiles", "raw_single", "raw_tiles"] {
        std::fs::create_dir_all(d.join(f)).unwrap();
    }
    points::write(&cloud, &d.join("single/all.laz")).unwrap();
    points::write(&raw, &d.join("raw_single/all.laz")).unwrap();
    // Four tiles split at irregular positions (not multiples of the CHM cell).
    let (sx, sy) = (p.origin[0] + 47.37, p.origin[1] + 61.13);
    for (k, (fx, fy)) in [(false, false), (true, false), (false, true), (true, true)]
        .into_iter()
        .enumerate()
    {
        let idx: Vec<usize> = (0..cloud.len())
            .filter(|&i| (cloud.x[i] >= sx) == fx && (cloud.y[i] >= sy) == fy)
            .collect();
        points::write(&cloud.select(&idx), &d.join(format!("tiles/t{k}.laz"))).unwrap();
        points::write(&raw.select(&idx), &d.join(format!("raw_tiles/t{k}.laz"))).unwrap();
    }
    let s = |p: &str| d.join(p).to_string_lossy().to_string();
    for seg in ["dalponte", "watershed"] {
        landcarbon(&[
            "-q",
            "trees",
            "--heights",
            "z",
            &s("single"),
            "--segment",
            seg,
            "-o",
            &s(&format!("single_{seg}.csv")),
            "--laz-out",
            &s(&format!("laz_single_{seg}")),
        ]);
        landcarbon(&[
            "-q",
            "trees",
            "--heights",
            "z",
            &s("tiles"),
            "--segment",
            seg,
            "--buffer",
            "20",
            "-o",
            &s(&format!("tiles_{seg}.csv")),
            "--laz-out",
            &s(&format!("laz_tiles_{seg}")),
        ]);
        landcarbon(&[
            "-q",
            "trees",
            "--heights",
            "z",
            &s("single"),
            "--segment",
            seg,
            "--chunk-size",
            "35",
            "--buffer",
            "20",
            "-o",
            &s(&format!("grid_{seg}.gpkg")),
        ]);
        let single = std::fs::read_to_string(d.join(format!("single_{seg}.csv"))).unwrap();
        let tiles = std::fs::read_to_string(d.join(format!("tiles_{seg}.csv"))).unwrap();
        let grid = std::fs::read_to_string(d.join(format!("grid_{seg}.csv"))).unwrap();
        let n = single.lines().count() - 1;
        assert!(
            n as f64 > 0.85 * truth.len() as f64,
            "{seg}: {n} trees for {} true",
            truth.len()
        );
        same_table(&single, &tiles, &format!("{seg}, tile mode"));
        same_table(&single, &grid, &format!("{seg}, grid mode"));
        // Per-point IDs: every point once, with the same tree ID.
        let a = point_ids(&d.join(format!("laz_single_{seg}")));
        let b = point_ids(&d.join(format!("laz_tiles_{seg}")));
        assert_eq!(a.1, cloud.len(), "{seg}: every point written once");
        assert_eq!(b.1, cloud.len(), "{seg}: every point written once");
        assert!(a.0 == b.0, "{seg}: per-point tree IDs differ");
        let labelled = a.0.values().flatten().filter(|&&v| v > 0).count();
        assert!(
            labelled > cloud.len() / 4,
            "{seg}: only {labelled} points in trees"
        );
    }
    // End to end with heights from the terrain module's ground surface of each chunk.
    landcarbon(&[
        "-q",
        "trees",
        &s("raw_single"),
        "--heights",
        "ground",
        "-o",
        &s("raw_single.csv"),
        "--laz-out",
        &s("laz_raw_single"),
    ]);
    landcarbon(&[
        "-q",
        "trees",
        &s("raw_tiles"),
        "--heights",
        "ground",
        "--buffer",
        "20",
        "-o",
        &s("raw_tiles.csv"),
        "--laz-out",
        &s("laz_raw_tiles"),
    ]);
    let a = std::fs::read_to_string(d.join("raw_single.csv")).unwrap();
    let b = std::fs::read_to_string(d.join("raw_tiles.csv")).unwrap();
    same_table(&a, &b, "ground heights, tile mode");
    let (pa, pb) = (
        point_ids(&d.join("laz_raw_single")),
        point_ids(&d.join("laz_raw_tiles")),
    );
    assert!(pa.0 == pb.0, "ground heights: per-point tree IDs differ");
}
