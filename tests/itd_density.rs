//! The individual-tree route end to end, through the `landcarbon` binary as a user runs it:
//! `synth-demo` → `trees --allometry` → `metrics --grid` → `carbon --trees --plots` for two
//! surveys → `account --density-t1/--density-t2`. The test recomputes the ratio, its variance
//! and the cell densities from the tree and plot tables itself (not with the crate's estimator).

use landcarbon::raster::read_geotiff;
use landcarbon::vector::Table;
use std::path::Path;

#[path = "common/cli.rs"]
mod cli;
use cli::{ok_quiet as ok, quiet as landcarbon};

fn num(t: &Table, row: usize, col: &str) -> f64 {
    t.cell(row, t.col(col).unwrap()).parse().unwrap()
}

/// Trees and plots → (plot totals of field AGB, plot totals of ITD AGB), both in t.
fn plot_totals(trees: &Table, plots: &Table) -> (Vec<f64>, Vec<f64>) {
    let (mut ys, mut xs) = (Vec::new(), Vec::new());
    for p in 0..plots.len() {
        let (px, py, r) = (
            num(plots, p, "x"),
            num(plots, p, "y"),
            num(plots, p, "radius_m"),
        );
        let area_ha = std::f64::consts::PI * r * r / 10_000.0;
        let kg: f64 = (0..trees.len())
            .filter(|&t| (num(trees, t, "x") - px).hypot(num(trees, t, "y") - py) <= r)
            .map(|t| num(trees, t, "agb_kg"))
            .sum();
        ys.push(num(plots, p, "agb_t_ha") * area_ha);
        xs.push(kg / 1000.0);
    }
    (ys, xs)
}

fn survey(demo: &Path, out: &Path, year: u32) -> (f64, f64) {
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (pts, trees, grid, itd) = (
        demo.join(format!("lidar_points_{year}")),
        out.join(format!("trees_{year}.csv")),
        out.join(format!("grid_{year}.tif")),
        out.join(format!("itd_{year}")),
    );
    let plots = demo.join(format!("field_plots_{year}.csv"));
    ok(&[
        "trees",
        &s(&pts),
        "--allometry",
        "default",
        "-o",
        &s(&trees),
    ]);
    ok(&["metrics", &s(&pts), "--grid", "20", "-o", &s(&grid)]);
    ok(&[
        "carbon",
        "--trees",
        &s(&trees),
        "--plots",
        &s(&plots),
        "--metrics",
        &s(&grid),
        "-o",
        &s(&itd),
    ]);
    let tt = Table::read(&trees).unwrap();
    let pt = Table::read(&plots).unwrap();
    let (ys, xs) = plot_totals(&tt, &pt);
    let n = ys.len() as f64;
    let r = ys.iter().sum::<f64>() / xs.iter().sum::<f64>();
    let x_bar = xs.iter().sum::<f64>() / n;
    let v: f64 = ys
        .iter()
        .zip(&xs)
        .map(|(y, x)| (y - r * x).powi(2))
        .sum::<f64>()
        / ((n - 1.0) * n * x_bar * x_bar);

    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(itd.join("model.json")).unwrap()).unwrap();
    assert_eq!(model["method"], "lidar_itd");
    let got_r = model["ratios"][0]["ratio"].as_f64().unwrap();
    assert!((got_r - r).abs() < 1e-9 * r, "{year}: ratio {got_r} vs {r}");
    let got_se = model["ratios"][0]["se_ratio"].as_f64().unwrap();
    assert!(
        (got_se - v.sqrt()).abs() < 1e-9,
        "{year}: se {got_se} vs {}",
        v.sqrt()
    );
    assert!(
        got_r > 1.0,
        "ITD misses suppressed trees: the ratio should exceed 1"
    );

    // Cells: R × Σ tree AGB in the cell / cell area, wherever the grid has a value.
    let agb = read_geotiff(&itd.join("agb_t_ha.tif"), 1).unwrap();
    let g = agb.grid;
    let mut kg = vec![0.0; g.ncols * g.nrows];
    for t in 0..tt.len() {
        if let Some((row, col)) = g.cell_of(num(&tt, t, "x"), num(&tt, t, "y")) {
            kg[row * g.ncols + col] += num(&tt, t, "agb_kg");
        }
    }
    let cell_ha = g.res_m * g.res_m / 10_000.0;
    let mut checked = 0;
    for (k, v) in agb.data.iter().enumerate() {
        if *v == agb.nodata {
            continue;
        }
        let want = r * kg[k] / 1000.0 / cell_ha;
        // Written as f32.
        assert!(
            (*v - want).abs() <= 1e-5 * want.max(1.0),
            "{year}: cell {k}: {v} vs {want}"
        );
        checked += 1;
    }
    assert!(checked > 50, "{year}: only {checked} cells");
    // Grid uncertainty with one stratum: 1.96·se(R)/R in percent.
    let u = model["u_pct"].as_f64().unwrap();
    assert!((u - 196.0 * v.sqrt() / r).abs() < 1e-9, "{year}: u {u}");
    (r, u)
}

#[test]
fn trees_to_carbon_to_account_by_the_ratio_estimator() {
    let dir = tempfile::tempdir().unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let demo = dir.path().join("demo");
    ok(&["synth-demo", "--cells", "4", "-o", &s(&demo)]);
    let (r20, _) = survey(&demo, dir.path(), 2020);
    let (r25, _) = survey(&demo, dir.path(), 2025);
    assert_ne!(r20, r25, "separate plots give separate ratios");

    let acc = dir.path().join("acc");
    ok(&[
        "account",
        "--config",
        &s(&demo.join("pipeline.toml")),
        "--density-t1",
        &s(&dir.path().join("itd_2020")),
        "--density-t2",
        &s(&dir.path().join("itd_2025")),
        "-o",
        &s(&acc),
    ]);
    let f1 = Table::read(&acc.join("F1_units.csv")).unwrap();
    let (m1, m2) = (f1.col("method_t1").unwrap(), f1.col("method_t2").unwrap());
    let itd_units = (0..f1.len())
        .filter(|&r| f1.cell(r, m1) == "lidar_itd" && f1.cell(r, m2) == "lidar_itd")
        .count();
    assert!(
        itd_units > 0,
        "no unit took its density from the ITD rasters"
    );
    assert!((0..f1.len()).all(|r| f1.cell(r, m1) != "lidar_aba"));

    // Two models fitted on their own plots are two independent error sources of the report.
    let report = std::fs::read_to_string(acc.join("report.html")).unwrap();
    let ids: std::collections::BTreeSet<&str> = report
        .match_indices("agb_itd_ratio@")
        .map(|(i, _)| &report[i..i + "agb_itd_ratio@".len() + 16])
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");

    // A configuration that calls the ITD folder area-based is refused, naming the folder.
    let cfg = std::fs::read_to_string(demo.join("pipeline.toml"))
        .unwrap()
        .replace(
            "[account.t1.lidar]\n",
            "[account.t1.lidar]\nmethod = \"lidar_aba\"\n",
        );
    let bad = demo.join("bad.toml");
    std::fs::write(&bad, cfg).unwrap();
    let out = landcarbon(&[
        "account",
        "--config",
        &s(&bad),
        "--density-t1",
        &s(&dir.path().join("itd_2020")),
        "--density-t2",
        &s(&dir.path().join("itd_2025")),
        "-o",
        &s(&dir.path().join("acc_bad")),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("itd_2020") && err.contains("lidar_itd"),
        "{err}"
    );
}

#[test]
fn carbon_trees_needs_plots_and_a_grid() {
    let dir = tempfile::tempdir().unwrap();
    let trees = dir.path().join("t.csv");
    std::fs::write(&trees, "x,y,agb_kg\n1,1,10\n").unwrap();
    let t = trees.to_str().unwrap();
    let o = dir.path().join("o");
    let out = landcarbon(&["carbon", "--trees", t, "-o", o.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--grid-raster") || err.contains("--plots"),
        "{err}"
    );
    assert!(!o.exists(), "nothing written on a refused run");
}
