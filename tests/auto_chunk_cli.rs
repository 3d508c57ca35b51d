//! A file with more points than `[chunk] max_points` is cut into buffered chunks automatically
//! by every catalog command, and the products equal those of the same file run as one chunk
//! (`--max-chunk-points 0`): the DTM and CHM rasters cell for cell, `ground`'s and
//! `classify-veg`'s points (as a set, with their classes; a cut tile is written as one file per
//! part).

use landcarbon::points;
use landcarbon::raster::read_geotiff;
use landcarbon::synth::{generate, SynthParams};
use std::path::Path;
use std::process::Command;

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

/// The points of every file in `dir` as sorted (x, y, z, class) keys.
fn point_set(dir: &Path) -> (usize, Vec<(i64, i64, i64, u8)>) {
    let mut keys = Vec::new();
    let mut files = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let c = points::read(&e.unwrap().path()).unwrap();
        files += 1;
        for i in 0..c.len() {
            let q = |v: f64| (v * 1000.0).round() as i64;
            keys.push((q(c.x[i]), q(c.y[i]), q(c.z[i]), c.classification[i]));
        }
    }
    keys.sort_unstable();
    (files, keys)
}

#[test]
fn an_automatically_chunked_file_gives_the_products_of_the_unchunked_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = SynthParams {
        size_m: [100.0, 80.0],
        pulses_per_m2: 5.0,
        seed: 11,
        ..Default::default()
    };
    let (cloud, _) = generate(&p);
    let d = dir.path();
    let input = d.join("all.laz");
    points::write(&cloud, &input).unwrap();
    let s = |x: &str| d.join(x).to_string_lossy().to_string();
    let target = (cloud.len() / 6).to_string();
    let inp = input.to_string_lossy().to_string();
    for (name, max) in [("whole", "0"), ("cut", target.as_str())] {
        let flags = ["--max-chunk-points", max, "--buffer", "15"];
        let run = |args: &[&str]| {
            let mut v: Vec<&str> = vec!["-q"];
            v.extend_from_slice(args);
            v.extend_from_slice(&flags);
            landcarbon(&v);
        };
        run(&[
            "dtm",
            &inp,
            "--res",
            "1",
            "-o",
            &s(&format!("dtm_{name}.tif")),
        ]);
        run(&[
            "chm",
            &inp,
            "--res",
            "0.5",
            "-o",
            &s(&format!("chm_{name}.tif")),
        ]);
        run(&["ground", &inp, "-o", &s(&format!("ground_{name}"))]);
        run(&["classify-veg", &inp, "-o", &s(&format!("veg_{name}"))]);
    }
    for (what, res) in [("dtm", 1.0), ("chm", 0.5)] {
        let a = read_geotiff(Path::new(&s(&format!("{what}_whole.tif"))), 1).unwrap();
        let b = read_geotiff(Path::new(&s(&format!("{what}_cut.tif"))), 1).unwrap();
        assert_eq!(a.grid, b.grid, "{what}: grids differ");
        assert!(
            a.grid.len() as f64 >= 100.0 * 80.0 / (res * res),
            "{what}: {} cells",
            a.grid.len()
        );
        let differ = a
            .data
            .iter()
            .zip(b.data.iter())
            .filter(|(x, y)| x != y)
            .count();
        assert_eq!(
            differ, 0,
            "{what}: {differ} cells differ between the cut and whole runs"
        );
    }
    for what in ["ground", "veg"] {
        let (fa, a) = point_set(&d.join(format!("{what}_whole")));
        let (fb, b) = point_set(&d.join(format!("{what}_cut")));
        assert_eq!(fa, 1, "{what}: the whole run writes one file");
        assert!(
            fb >= 4,
            "{what}: the cut run writes one file per part, got {fb}"
        );
        assert_eq!(a.len(), cloud.len(), "{what}: points written");
        if what == "veg" {
            // Vegetation classes depend on each point's height only: identical.
            assert_eq!(a, b, "{what}: the points or their classes differ");
        } else {
            // The ground filter sees the same neighbourhood in the middle of a part and
            // within the buffer: allow a few classes to differ at the parts' edges (the
            // filter's own surfaces depend on the chunk's extent), but no point lost or added.
            let xyz =
                |v: &[(i64, i64, i64, u8)]| v.iter().map(|k| (k.0, k.1, k.2)).collect::<Vec<_>>();
            assert_eq!(xyz(&a), xyz(&b), "{what}: the points differ");
            let differ = a.iter().zip(&b).filter(|(x, y)| x.3 != y.3).count();
            assert!(
                differ * 1000 <= a.len(),
                "{what}: {differ} of {} classes differ",
                a.len()
            );
        }
    }
}
