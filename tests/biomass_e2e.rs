//! End to end on synthetic tiles with known truth: plot metrics → calibration → grid metrics →
//! carbon, through the `landcarbon` binary, as a user runs it.
//!
//! Four 120 m tiles (2 × 2) of different tree density and height are generated, normalized
//! with the synthetic terrain (height = z − terrain(x, y)) and written as LAZ. Field plots
//! (r = 11.28 m, 400 m²) get their "field" AGB from the trees whose stems they contain, with
//! the allometry of the default parameters (the truth). Some plots straddle tile borders.

use landcarbon::algo::metrics::{metric_index, METRIC_NAMES};
use landcarbon::params::Params;
use landcarbon::points;
use landcarbon::raster::{band_names, read_geotiff};
use landcarbon::synth::{generate, SynthParams, SynthTree};
use landcarbon::vector::Table;
use std::path::Path;
use std::process::Command;

const TILE: f64 = 120.0;
const ORIGIN: [f64; 2] = [500_000.0, 3_400_000.0];
const RADIUS: f64 = 11.28;

fn landcarbon(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_landcarbon"))
        .arg("-q")
        .args(args)
        .output()
        .expect("run landcarbon");
    assert!(
        out.status.success(),
        "landcarbon {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Writes the tiles; returns all trees and the normalized points (x, y, height).
fn make_tiles(dir: &Path) -> (Vec<SynthTree>, Vec<[f64; 3]>) {
    let setups = [
        (60.0, [8.0, 16.0]),
        (160.0, [12.0, 24.0]),
        (280.0, [15.0, 30.0]),
        (420.0, [10.0, 26.0]),
    ];
    let mut trees = Vec::new();
    let mut pts = Vec::new();
    for (k, (density, hr)) in setups.iter().enumerate() {
        let p = SynthParams {
            origin: [
                ORIGIN[0] + (k % 2) as f64 * TILE,
                ORIGIN[1] + (k / 2) as f64 * TILE,
            ],
            size_m: [TILE, TILE],
            pulses_per_m2: 4.0,
            trees_per_ha: *density,
            tree_height_m: *hr,
            seed: 7 + k as u64,
            ..Default::default()
        };
        let (mut cloud, t) = generate(&p);
        for i in 0..cloud.len() {
            cloud.z[i] -= p.terrain_z(cloud.x[i], cloud.y[i]);
        }
        let path = dir.join(format!("tile{k}.laz"));
        points::write(&cloud, &path).unwrap();
        // The points as stored (coordinates quantized to the 1 cm scale).
        let back = points::read(&path).unwrap();
        pts.extend((0..back.len()).map(|i| [back.x[i], back.y[i], back.z[i]]));
        trees.extend(t);
    }
    (trees, pts)
}

fn truth_agb_t_ha(trees: &[SynthTree], x: f64, y: f64, params: &Params) -> f64 {
    let eq = &params.allometry.group(None).unwrap().agb;
    let kg: f64 = trees
        .iter()
        .filter(|t| (t.x - x).powi(2) + (t.y - y).powi(2) <= RADIUS * RADIUS)
        .map(|t| eq.agb_kg(t.dbh_cm, t.height_m))
        .sum();
    kg / 1000.0 / (std::f64::consts::PI * RADIUS * RADIUS / 10_000.0)
}

#[test]
fn synthetic_metrics_calibrate_carbon_recovers_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let tiles = d.join("tiles");
    std::fs::create_dir_all(&tiles).unwrap();
    let (trees, pts) = make_tiles(&tiles);
    let params = Params::defaults();

    // Field plots: a 6 × 6 grid over the 240 m scene, plus nine centred on the tile borders
    // (the last one on the corner of all four tiles).
    let mut csv = String::from("plot_id,x,y,agb_t_ha\n");
    let mut centres = Vec::new();
    for j in 0..6 {
        for i in 0..6 {
            centres.push((
                ORIGIN[0] + 22.0 + 39.2 * i as f64,
                ORIGIN[1] + 22.0 + 39.2 * j as f64,
            ));
        }
    }
    for v in [30.0, 90.0, 150.0, 210.0] {
        centres.push((ORIGIN[0] + TILE, ORIGIN[1] + v));
        centres.push((ORIGIN[0] + v, ORIGIN[1] + TILE));
    }
    centres.push((ORIGIN[0] + TILE, ORIGIN[1] + TILE));
    let mut truth = Vec::new();
    for (k, (x, y)) in centres.iter().enumerate() {
        let agb = truth_agb_t_ha(&trees, *x, *y, &params);
        truth.push(agb);
        csv.push_str(&format!("P{k},{x},{y},{agb}\n"));
    }
    let plots = d.join("plots.csv");
    std::fs::write(&plots, csv).unwrap();
    let tiles_s = tiles.to_str().unwrap();

    // 1. Plot metrics across tiles.
    let pm = d.join("plot_metrics.csv");
    landcarbon(&[
        "metrics",
        tiles_s,
        // Z is the height above the true terrain: read it as is (the default `auto` would
        // re-normalize on the class-2 points, a second terrain estimate).
        "--height",
        "z",
        "--plots",
        plots.to_str().unwrap(),
        "--radius",
        "11.28",
        "-o",
        pm.to_str().unwrap(),
    ]);
    let t = Table::read(&pm).unwrap();
    assert_eq!(t.len(), centres.len());
    for m in METRIC_NAMES {
        assert!(t.col(m).is_some(), "column {m}");
    }
    // The plot on the four-tile corner holds exactly the returns within 11.28 m of it.
    let (cx, cy) = centres[centres.len() - 1];
    let want_n = pts
        .iter()
        .filter(|p| (p[0] - cx).powi(2) + (p[1] - cy).powi(2) <= RADIUS * RADIUS)
        .count();
    let ncol = t.col("n").unwrap();
    let got_n: f64 = t.cell(t.len() - 1, ncol).parse().unwrap();
    assert_eq!(got_n as usize, want_n, "corner plot return count");
    assert!(want_n > 500);

    // 2. Calibration (log–log best subset, Baskerville).
    let model = d.join("model.json");
    landcarbon(&[
        "calibrate",
        "--plots",
        pm.to_str().unwrap(),
        "--response",
        "agb_t_ha",
        "-o",
        model.to_str().unwrap(),
    ]);
    let mf = landcarbon::biomass::model::ModelFile::read(&model).unwrap();
    let m = &mf.models[0];
    eprintln!(
        "selected {:?}: R2 {:.3}, LOOCV rRMSE {:.1} %, LOOCV bias {:.1} %",
        m.predictors, m.fit.r2, m.loocv.rrmse_pct, m.loocv.rel_bias_pct
    );
    assert!(
        m.loocv.rrmse_pct < 30.0,
        "LOOCV rRMSE {}",
        m.loocv.rrmse_pct
    );
    assert!(m.loocv.rel_bias_pct.abs() < 5.0);
    assert!(m.fit.r2 > 0.75, "R2 {}", m.fit.r2);
    assert!(d.join("model.txt").exists());
    assert!(d.join("model_obs_pred.png").exists());
    // The metric options of the plot metrics travel into the model file.
    assert_eq!(mf.metric_options.as_ref().unwrap()["height_break_m"], 2.0);

    // 3. Grid metrics (20 m = plot area), tile chunks and 60 m chunks must agree exactly.
    let grid = d.join("metrics.tif");
    landcarbon(&[
        "metrics",
        tiles_s,
        // Z is the height above the true terrain: read it as is (the default `auto` would
        // re-normalize on the class-2 points, a second terrain estimate).
        "--height",
        "z",
        "--grid",
        "20",
        "-o",
        grid.to_str().unwrap(),
    ]);
    let grid60 = d.join("metrics60.tif");
    landcarbon(&[
        "metrics",
        tiles_s,
        // Z is the height above the true terrain: read it as is (the default `auto` would
        // re-normalize on the class-2 points, a second terrain estimate).
        "--height",
        "z",
        "--grid",
        "20",
        "--chunk-size",
        "60",
        "-o",
        grid60.to_str().unwrap(),
    ]);
    let names = band_names(&grid).unwrap();
    assert_eq!(names, METRIC_NAMES);
    for b in ["n", "zmean", "zq95", "cover", "d5"] {
        let k = metric_index(b).unwrap() + 1;
        let a = read_geotiff(&grid, k).unwrap();
        let c = read_geotiff(&grid60, k).unwrap();
        // Both on the product grid of the data's extent; the values are identical.
        for row in 0..a.grid.nrows {
            for col in 0..a.grid.ncols {
                let (x, y) = a.grid.centre(row, col);
                assert_eq!(
                    a.value_at(x, y),
                    c.value_at(x, y),
                    "band {b} differs between chunkings at ({x}, {y})"
                );
            }
        }
        // Both keep the few edge cells holding returns exactly on the scene's far edges (x or
        // y = 240 m after 1 cm rounding): tile chunks by extending on the catalog's free sides.
        let valid =
            |r: &landcarbon::raster::Raster<f64>| r.data.iter().filter(|v| **v != r.nodata).count();
        assert_eq!(valid(&a), valid(&c), "band {b}");
    }
    let n = read_geotiff(&grid, 1).unwrap();
    // The product grid: the 20 m cells touching the data's extent (12 × 12 over the scene,
    // plus the row and column holding returns exactly on its far edges), whatever the chunking.
    assert!(
        (12..=13).contains(&n.grid.ncols) && (12..=13).contains(&n.grid.nrows),
        "{:?}",
        n.grid
    );
    assert!(
        n.grid.x_min == ORIGIN[0] && n.grid.y_max >= ORIGIN[1] + 240.0,
        "{:?}",
        n.grid
    );
    assert_eq!(n.grid, read_geotiff(&grid60, 1).unwrap().grid);

    // 4. Carbon.
    let out = d.join("carbon");
    landcarbon(&[
        "carbon",
        "--metrics",
        grid.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let agb = read_geotiff(&out.join("agb_t_ha.tif"), 1).unwrap();
    // The 144 cells of the scene; the outer ring holds at most a few edge returns.
    let mut vals = Vec::new();
    for i in 0..12 {
        for j in 0..12 {
            let (x, y) = (
                ORIGIN[0] + (i as f64 + 0.5) * 20.0,
                ORIGIN[1] + (j as f64 + 0.5) * 20.0,
            );
            vals.push(agb.value_at(x, y).expect("every scene cell predicted"));
        }
    }
    let pred_mean = vals.iter().sum::<f64>() / vals.len() as f64;
    let eq = &params.allometry.group(None).unwrap().agb;
    let true_mean = trees
        .iter()
        .map(|t| eq.agb_kg(t.dbh_cm, t.height_m))
        .sum::<f64>()
        / 1000.0
        / (4.0 * TILE * TILE / 10_000.0);
    let rel = (pred_mean - true_mean) / true_mean * 100.0;
    eprintln!(
        "scene mean AGB: predicted {pred_mean:.1} t/ha, true {true_mean:.1} t/ha ({rel:+.1} %)"
    );
    assert!(rel.abs() < 8.0, "scene AGB off by {rel:.1} %");
    // Pools add up, cell by cell: total = AGC + BGC + LT (dead wood not estimated by default).
    let agc = read_geotiff(&out.join("agc_tc_ha.tif"), 1).unwrap();
    let bgc = read_geotiff(&out.join("bgc_tc_ha.tif"), 1).unwrap();
    let lt = read_geotiff(&out.join("lt_tc_ha.tif"), 1).unwrap();
    let tot = read_geotiff(&out.join("total_tc_ha.tif"), 1).unwrap();
    assert!(!out.join("dw_tc_ha.tif").exists());
    for i in 0..tot.data.len() {
        if tot.data.as_slice().unwrap()[i] == tot.nodata {
            continue;
        }
        let (a, b, l, t) = (
            agc.data.as_slice().unwrap()[i],
            bgc.data.as_slice().unwrap()[i],
            lt.data.as_slice().unwrap()[i],
            tot.data.as_slice().unwrap()[i],
        );
        assert!((a + b + l - t).abs() < 1e-3 * t.max(1.0), "cell {i}");
        let g = agb.data.as_slice().unwrap()[i];
        let r = if g <= 125.0 { 0.230 } else { 0.246 };
        assert!(
            (b - g * r * 0.47).abs() < 1e-3 * b.max(1.0),
            "BGC step at cell {i}"
        );
    }
    let se = read_geotiff(&out.join("agb_se_t_ha.tif"), 1).unwrap();
    let fl = read_geotiff(&out.join("flag.tif"), 1).unwrap();
    for i in 0..12 {
        for j in 0..12 {
            let (x, y) = (
                ORIGIN[0] + (i as f64 + 0.5) * 20.0,
                ORIGIN[1] + (j as f64 + 0.5) * 20.0,
            );
            let v = se.value_at(x, y).expect("SE of every scene cell");
            assert!(v > 0.0);
            // Scene cells are clean or flagged as extrapolated; ring cells without returns are
            // flagged "no data" (4) and are nodata in the AGB raster.
            let f = fl.value_at(x, y).unwrap_or(-1.0);
            assert!(f == 0.0 || f == 1.0, "flag {f} at ({x}, {y})");
        }
    }
    assert_eq!(fl.data[[0, 0]], 4.0);
    assert_eq!(agb.data[[0, 0]], agb.nodata);
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let predicted = agb.data.iter().filter(|v| **v != agb.nodata).count();
    assert_eq!(run["summary"]["predicted"], predicted);
    assert_eq!(
        run["parameters"]["carbon_fraction.wood"]["source"],
        "default"
    );
    assert_eq!(run["dead_wood"], "not estimated (NE)");
}
