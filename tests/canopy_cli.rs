//! `landcarbon chm` mosaics are seamless (a tiled run equals a single-file run) and
//! `landcarbon classify-veg` classifies by height while keeping ground, on a synthetic scene.

use landcarbon::points::{self, class};
use landcarbon::raster::read_geotiff;
use landcarbon::synth::{generate, SynthParams};
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

fn scene() -> (tempfile::TempDir, SynthParams, points::PointCloud) {
    let dir = tempfile::tempdir().unwrap();
    let p = SynthParams {
        size_m: [90.0, 60.0],
        pulses_per_m2: 6.0,
        seed: 5,
        ..Default::default()
    };
    let (mut cloud, _) = generate(&p);
    // Vegetation unclassified, as delivered by many providers.
    for c in cloud.classification.iter_mut() {
        if *c == class::HIGH_VEGETATION {
            *c = class::UNCLASSIFIED;
        }
    }
    // Height-normalized copy for the CHM test: the ground TIN's interpolation is ambiguous
    // where 4 ground points are co-circular (common on a centimetre grid), which changes
    // near-ground heights by centimetres depending on the point set; the CHM itself is tested.
    let mut norm = cloud.clone();
    for i in 0..norm.len() {
        norm.z[i] -= p.terrain_z(norm.x[i], norm.y[i]);
    }
    let d = dir.path();
    std::fs::create_dir_all(d.join("norm_single")).unwrap();
    std::fs::create_dir_all(d.join("norm_tiles")).unwrap();
    points::write(&norm, &d.join("norm_single/all.laz")).unwrap();
    std::fs::create_dir_all(d.join("single")).unwrap();
    std::fs::create_dir_all(d.join("tiles")).unwrap();
    points::write(&cloud, &d.join("single/all.laz")).unwrap();
    let sx = p.origin[0] + 41.37;
    for (k, east) in [false, true].into_iter().enumerate() {
        let idx: Vec<usize> = (0..cloud.len())
            .filter(|&i| (cloud.x[i] >= sx) == east)
            .collect();
        points::write(&cloud.select(&idx), &d.join(format!("tiles/t{k}.laz"))).unwrap();
        points::write(&norm.select(&idx), &d.join(format!("norm_tiles/t{k}.laz"))).unwrap();
    }
    (dir, p, cloud)
}

#[test]
fn chm_mosaic_of_tiles_equals_single_file() {
    let (dir, p, _) = scene();
    let s = |x: &str| dir.path().join(x).to_string_lossy().to_string();
    for method in ["p2r", "pitfree"] {
        let a = s(&format!("{method}_single.tif"));
        let b = s(&format!("{method}_tiles.tif"));
        landcarbon(&[
            "-q",
            "chm",
            &s("norm_single"),
            "--heights",
            "z",
            "--method",
            method,
            "--res",
            "0.5",
            "-o",
            &a,
        ]);
        landcarbon(&[
            "-q",
            "chm",
            &s("norm_tiles"),
            "--heights",
            "z",
            "--method",
            method,
            "--res",
            "0.5",
            "--buffer",
            "10",
            "-o",
            &b,
        ]);
        let ra = read_geotiff(std::path::Path::new(&a), 1).unwrap();
        let rb = read_geotiff(std::path::Path::new(&b), 1).unwrap();
        assert_eq!(ra.grid, rb.grid, "{method}: mosaic grids differ");
        let (mut n, mut differ) = (0usize, 0usize);
        let mut where_ = Vec::new();
        for row in 0..ra.grid.nrows {
            for col in 0..ra.grid.ncols {
                let (x, y) = ra.grid.centre(row, col);
                // The pit-free TIN's outermost triangles depend on the whole point set: skip
                // the scene's outer 2 m.
                let inner = x > p.origin[0] + 2.0
                    && x < p.origin[0] + p.size_m[0] - 2.0
                    && y > p.origin[1] + 2.0
                    && y < p.origin[1] + p.size_m[1] - 2.0;
                if method == "pitfree" && !inner {
                    continue;
                }
                let (va, vb) = (ra.data[[row, col]], rb.data[[row, col]]);
                n += 1;
                if va != vb {
                    differ += 1;
                    if where_.len() < 5 {
                        where_.push((x - p.origin[0], y - p.origin[1], va, vb));
                    }
                }
            }
        }
        assert!(n > 15_000, "{method}: {n} cells");
        assert_eq!(
            differ, 0,
            "{method}: {differ} of {n} cells differ between the tiled and single runs, e.g. (x, y from the origin, single, tiled): {where_:?}"
        );
        // Canopy present: the tallest cell is a tree top of 8–28 m.
        let max = ra.data.iter().cloned().fold(f64::MIN, f64::max);
        assert!(max > 8.0 && max < 29.0, "{method}: CHM max {max}");
    }
}

#[test]
fn classify_veg_by_height_keeps_ground() {
    let (dir, p, cloud) = scene();
    let s = |x: &str| dir.path().join(x).to_string_lossy().to_string();
    landcarbon(&[
        "-q",
        "classify-veg",
        &s("tiles"),
        "--heights",
        "ground",
        "-o",
        &s("veg"),
    ]);
    let mut n_out = 0;
    let (mut ok, mut n_veg) = (0usize, 0usize);
    let mut hist = [0usize; 256];
    for e in std::fs::read_dir(dir.path().join("veg")).unwrap() {
        let c = points::read(&e.unwrap().path()).unwrap();
        n_out += c.len();
        for i in 0..c.len() {
            hist[c.classification[i] as usize] += 1;
            if c.classification[i] == class::GROUND {
                continue;
            }
            n_veg += 1;
            let h = c.z[i] - p.terrain_z(c.x[i], c.y[i]);
            let expect = if h < 0.5 {
                class::LOW_VEGETATION
            } else if h < 2.0 {
                class::MEDIUM_VEGETATION
            } else {
                class::HIGH_VEGETATION
            };
            if c.classification[i] == expect {
                ok += 1;
            }
        }
    }
    assert_eq!(n_out, cloud.len(), "every point written once");
    let ground_in = cloud
        .classification
        .iter()
        .filter(|&&c| c == class::GROUND)
        .count();
    assert_eq!(hist[class::GROUND as usize], ground_in, "ground kept");
    assert_eq!(
        hist[class::UNCLASSIFIED as usize],
        0,
        "no point left unclassified"
    );
    // Heights from the ground TIN against the true terrain: all but a handful agree.
    assert!(
        ok as f64 >= 0.995 * n_veg as f64,
        "{ok} of {n_veg} in the expected class"
    );
    assert!(hist[class::HIGH_VEGETATION as usize] > 10_000);
}
