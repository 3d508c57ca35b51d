//! End to end through the `landcarbon` binary: the synthetic county (hundreds of patches, all
//! classes, changes, density rasters) into F-1/F-2/F-3, GeoPackage, report; and bad inputs
//! (duplicate ids, missing fields, unmapped codes, equal/reversed years, CRS mismatch between
//! the surveys and between patches and rasters), each a clear error.

use gdal::vector::LayerAccess;
use gdal::Dataset;
use landcarbon::accounting::geom::{MultiPolygon, Polygon};
use landcarbon::accounting::synth_county::{generate, SynthCountyParams};
use landcarbon::accounting::tables::{ColType, Table, Value};
use landcarbon::vector::gpkg_out::{write_gpkg, LayerSpec};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_landcarbon"))
}

fn read_csv(p: &Path) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let mut r = csv::Reader::from_path(p).unwrap();
    let h: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|x| {
            let x = x.unwrap();
            h.iter()
                .cloned()
                .zip(x.iter().map(str::to_string))
                .collect()
        })
        .collect();
    (h, rows)
}

fn f(r: &HashMap<String, String>, k: &str) -> f64 {
    r[k].parse().unwrap_or_else(|_| panic!("{k} = '{}'", r[k]))
}

#[test]
fn synthetic_county_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let status = bin()
        .args(["-q", "synth-county", "-o"])
        .arg(d)
        .status()
        .unwrap();
    assert!(status.success());
    let out = d.join("results");
    let t = std::time::Instant::now();
    let o = bin()
        .arg("--config")
        .arg(d.join("account.toml"))
        .args(["account", "--mc-draws", "20000", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&o.stdout);
    eprintln!("{stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success());
    eprintln!("account on the synthetic county: {secs:.2} s");

    // F-1: exact columns, hundreds of units, all classes, changes.
    let (h1, f1) = read_csv(&out.join("F1_units.csv"));
    let expect: Vec<&str> = "patch_id,county_code,class_t1,class_t2,change_flag,area_ha,year_t1,year_t2,method_t1,method_t2,AGB_t1,BGB_t1,DW_t1,LT_t1,SOC_t1,total_t1,AGB_t2,BGB_t2,DW_t2,LT_t2,SOC_t2,total_t2,stock_t1_tC,stock_t2_tC,dC_tC,sink_tC_yr,sink_tCO2_yr,U_density_t1_pct,U_density_t2_pct,U_sink_pct,AGB_method_t1,BGB_method_t1,DW_method_t1,LT_method_t1,SOC_method_t1,AGB_method_t2,BGB_method_t2,DW_method_t2,LT_method_t2,SOC_method_t2,extrap_pct_t1,extrap_pct_t2,flags".split(',').collect();
    assert_eq!(h1, expect);
    assert!(f1.len() > 300, "{} units", f1.len());
    assert!(f1.iter().filter(|r| r["change_flag"] == "1").count() > 20);
    let methods: std::collections::HashSet<&str> = f1
        .iter()
        .flat_map(|r| [r["method_t1"].as_str(), r["method_t2"].as_str()])
        .collect();
    for m in ["lidar_aba", "plot", "default"] {
        assert!(methods.contains(m), "{methods:?}");
    }
    assert!(
        !stdout.contains("NaN")
            && !std::fs::read_to_string(out.join("F1_units.csv"))
                .unwrap()
                .contains("NaN")
    );
    for r in &f1 {
        // Totals are the pool sums; sink = dC/5 and CO2 = 44/12 C (to rounding).
        // A pool is empty exactly where its method is NE (not estimated), never a silent 0.
        for p in ["AGB", "BGB", "DW", "LT", "SOC"] {
            for y in ["t1", "t2"] {
                let (v, m) = (&r[&format!("{p}_{y}")], &r[&format!("{p}_method_{y}")]);
                assert_eq!(v.is_empty(), m == "NE", "{p}_{y} = '{v}', method {m}");
            }
        }
        let tot: f64 = ["AGB_t2", "BGB_t2", "DW_t2", "LT_t2", "SOC_t2"]
            .iter()
            .filter(|k| !r[**k].is_empty())
            .map(|k| f(r, k))
            .sum();
        assert!((tot - f(r, "total_t2")).abs() < 3e-3);
        assert!((f(r, "dC_tC") / 5.0 - f(r, "sink_tC_yr")).abs() < 0.011);
        assert!((f(r, "sink_tC_yr") * 44.0 / 12.0 - f(r, "sink_tCO2_yr")).abs() < 0.03);
    }
    // F-2: the region row is the sum of the counties and of F-1.
    let (_, f2) = read_csv(&out.join("F2_county.csv"));
    assert_eq!(f2.len(), 3);
    let region = f2.iter().find(|r| r["county_code"] == "region").unwrap();
    let sum_f1: f64 = f1.iter().map(|r| f(r, "sink_tCO2_yr")).sum();
    assert!((f(region, "sink_total_tCO2_yr") - sum_f1).abs() < 0.01 * f1.len() as f64);
    let area_f1: f64 = f1.iter().map(|r| f(r, "area_ha")).sum();
    let tbmj: f64 = generate(&SynthCountyParams::default()).patches[1]
        .iter()
        .map(|p| p.tbmj_m2 * 1e-4)
        .sum();
    assert!(
        (area_f1 - tbmj).abs() < 1e-3,
        "F-1 area {area_f1} vs TBMJ {tbmj}"
    );
    assert!(f(region, "sink_total_tCO2_yr") > 0.0);
    let u = f(region, "U_sink_pct");
    assert!(u > 1.0 && u < 60.0, "{u}");
    assert!(f(region, "sink_tCO2_yr_ci_lower") < f(region, "sink_total_tCO2_yr"));
    // Truth: unchanged forest patches (same patch in both years) covered by LiDAR in both
    // years grew 1.2 t C/ha/yr of AGC plus 23 % BGC in the synthetic rasters.
    let (mut a, mut g) = (0.0, 0.0);
    let same = |id: &str| id.split_once('|').is_some_and(|(x, y)| x == y);
    for r in f1.iter().filter(|r| {
        same(&r["patch_id"])
            && r["method_t1"] == "lidar_aba"
            && r["method_t2"] == "lidar_aba"
            && r["class_t1"].starts_with("03")
            && r["class_t1"] == r["class_t2"]
            && r["class_t1"] != "0304"
    }) {
        a += f(r, "area_ha");
        g += f(r, "area_ha") * (f(r, "AGB_t2") + f(r, "BGB_t2") - f(r, "AGB_t1") - f(r, "BGB_t1"));
    }
    let growth = g / a / 5.0;
    eprintln!(
        "forest live-biomass carbon growth {growth:.3} t C/ha/yr (truth 1.476) over {a:.0} ha"
    );
    assert!((growth - 1.476).abs() < 0.05 * 1.476, "{growth}");
    // F-3.
    let (h3, f3) = read_csv(&out.join("F3_transitions.csv"));
    assert_eq!(
        h3,
        [
            "county_code",
            "class_t1",
            "class_t2",
            "area_ha",
            "sink_tCO2_yr",
            "a1_h_sink_tCO2_yr",
            "a1_U_sink_pct"
        ]
    );
    // Every cell with a sink has its uncertainty, consistent with its half-width.
    let region: Vec<_> = f3.iter().filter(|r| r["county_code"] == "region").collect();
    for r in &region {
        if f(r, "sink_tCO2_yr").abs() > 1e-6 {
            assert!(f(r, "a1_h_sink_tCO2_yr") > 0.0, "{r:?}");
            let u = f(r, "a1_h_sink_tCO2_yr") / f(r, "sink_tCO2_yr").abs() * 100.0;
            assert!((u / f(r, "a1_U_sink_pct") - 1.0).abs() < 0.01, "{r:?}");
        }
    }
    assert!(f3.iter().any(|r| r["county_code"] == "region"
        && r["class_t1"] == "cropland"
        && r["class_t2"] == "forest"));
    // GeoPackage: unit polygons with every F-1 field and the CRS.
    let ds = Dataset::open(out.join("units.gpkg")).unwrap();
    let mut lyr = ds.layer_by_name("F1_units").unwrap();
    assert_eq!(lyr.feature_count() as usize, f1.len());
    let names: Vec<String> = lyr.defn().fields().map(|x| x.name()).collect();
    assert_eq!(names, expect);
    let srs = lyr.spatial_ref().unwrap();
    assert_eq!(srs.auth_code().unwrap(), 4547);
    let area_gpkg: f64 = lyr.features().map(|ft| ft.geometry().unwrap().area()).sum();
    assert!((area_gpkg - 3.6e7).abs() < 10.0, "{area_gpkg}");
    assert!(ds.layer_by_name("F2_county").is_ok() && ds.layer_by_name("F3_transitions").is_ok());
    // Issues: the planted invalid polygon is repaired and reported; coverage gaps reported.
    let (_, issues) = read_csv(&out.join("issues.csv"));
    let rep: Vec<_> = issues
        .iter()
        .filter(|r| r["kind"] == "repaired_polygon")
        .collect();
    assert_eq!(rep.len(), 1, "exactly the planted invalid polygon");
    assert_eq!(rep[0]["id"], "100000");
    assert!(issues
        .iter()
        .any(|r| r["kind"] == "outside_raster_coverage"));
    assert!(issues.iter().any(|r| r["kind"] == "sliver_dropped"));
    // Report.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for s in [
        "Net sink",
        "data:image/png;base64,",
        "carbon_fraction.wood",
        "Land-class transitions",
        "synthetic_aba_loglog_v1",
        "rrmse_pct",
        "Monte Carlo",
    ] {
        assert!(html.contains(s), "report lacks {s}");
    }
    for m in [
        "map_density_t1.png",
        "map_density_t2.png",
        "map_sink.png",
        "map_change.png",
    ] {
        assert!(std::fs::metadata(out.join(m)).unwrap().len() > 10_000);
    }
    let (_, unc) = read_csv(&out.join("uncertainty.csv"));
    let r = unc.iter().find(|r| r["county_code"] == "region").unwrap();
    let (a1, mc) = (f(r, "a1_U_sink_pct"), f(r, "mc_U_sink_pct"));
    assert!((a1 - mc).abs() < 0.15 * a1, "approach 1 {a1} vs MC {mc}");
    assert!(std::fs::read_dir(&out).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains("partial")));
}

fn write_patches(path: &Path, epsg: Option<u32>, rows: &[(&str, &str, f64)], fields: [&str; 4]) {
    let t = Table {
        name: "DLTB".into(),
        columns: fields
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    if *n == "TBMJ" {
                        ColType::Real
                    } else {
                        ColType::Str
                    },
                )
            })
            .collect(),
        rows: rows
            .iter()
            .map(|(id, code, _)| {
                vec![
                    Value::Str(id.to_string()),
                    Value::Str(code.to_string()),
                    Value::Str("420999001001".into()),
                    Value::Real(10_000.0, 2),
                ]
            })
            .collect(),
    };
    let geoms: Vec<MultiPolygon> = rows
        .iter()
        .map(|(_, _, x)| {
            MultiPolygon::single(Polygon::rect(
                500_000.0 + x,
                3_400_000.0,
                500_100.0 + x,
                3_400_100.0,
            ))
        })
        .collect();
    let wkt = epsg.map(|e| {
        gdal::spatial_ref::SpatialRef::from_epsg(e)
            .unwrap()
            .to_wkt()
            .unwrap()
    });
    write_gpkg(
        path,
        wkt.as_deref(),
        &[LayerSpec {
            table: &t,
            geoms: Some(&geoms),
        }],
    )
    .unwrap();
}

fn run_err(args: &[&str], a: &Path, b: &Path) -> String {
    let o = bin()
        .args(["account", "--patches-t1"])
        .arg(a)
        .arg("--patches-t2")
        .arg(b)
        .args(["--out", "/nonexistent/never-written", "--mc-draws", "0"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "must fail");
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let std4 = ["BSM", "DLBM", "ZLDWDM", "TBMJ"];
    let good: PathBuf = d.join("good.gpkg");
    write_patches(
        &good,
        Some(4547),
        &[("a", "0301", 0.0), ("b", "0101", 100.0)],
        std4,
    );
    let years = ["--year-t1", "2020", "--year-t2", "2025"];
    // Years equal or reversed.
    let e = run_err(&["--year-t1", "2025", "--year-t2", "2020"], &good, &good);
    assert!(e.contains("reversed"), "{e}");
    let e = run_err(&["--year-t1", "2020", "--year-t2", "2020"], &good, &good);
    assert!(e.contains("equal"), "{e}");
    // Duplicate ids.
    let dup = d.join("dup.gpkg");
    write_patches(
        &dup,
        Some(4547),
        &[
            ("a", "0301", 0.0),
            ("a", "0101", 100.0),
            ("c", "0101", 200.0),
        ],
        std4,
    );
    let e = run_err(&years, &good, &dup);
    assert!(
        e.contains("duplicate patch ids") && e.contains("'a' × 2"),
        "{e}"
    );
    // Missing fields, listing what the layer has.
    let nof = d.join("nofield.gpkg");
    write_patches(
        &nof,
        Some(4547),
        &[("a", "0301", 0.0)],
        ["BSM", "DLBM_X", "ZLDWDM", "TBMJ"],
    );
    let e = run_err(&years, &nof, &good);
    assert!(
        e.contains("class field 'DLBM'") && e.contains("DLBM_X"),
        "{e}"
    );
    // Unmapped codes: every one listed, with the file.
    let unm = d.join("unmapped.gpkg");
    write_patches(
        &unm,
        Some(4547),
        &[
            ("a", "9999", 0.0),
            ("b", "8888", 100.0),
            ("c", "0301", 200.0),
        ],
        std4,
    );
    let e = run_err(&years, &good, &unm);
    assert!(
        e.contains("'9999'") && e.contains("'8888'") && e.contains("unmapped.gpkg"),
        "{e}"
    );
    // CRS mismatch between the surveys.
    let utm = d.join("utm.gpkg");
    write_patches(
        &utm,
        Some(32650),
        &[("a", "0301", 0.0), ("b", "0101", 100.0)],
        std4,
    );
    let e = run_err(&years, &good, &utm);
    assert!(e.contains("CRS mismatch"), "{e}");
    // CRS mismatch between patches and rasters.
    let rd = d.join("lidar");
    std::fs::create_dir_all(&rd).unwrap();
    let g = landcarbon::raster::Grid {
        x_min: 500_000.0,
        y_max: 3_400_100.0,
        res_m: 20.0,
        ncols: 10,
        nrows: 5,
    };
    let r = landcarbon::raster::Raster::filled(g, 50.0f64);
    landcarbon::raster::write_geotiff(
        &r,
        &landcarbon::points::Crs::from_epsg(32650),
        &rd.join("agc.tif"),
    )
    .unwrap();
    let mut args = years.to_vec();
    let spec = rd.display().to_string();
    args.extend(["--density-t1", spec.as_str()]);
    let e = run_err(&args, &good, &good);
    assert!(e.contains("CRS mismatch") && e.contains("agc.tif"), "{e}");
    // Geographic CRS.
    let geo = d.join("geo.gpkg");
    write_patches(&geo, Some(4490), &[("a", "0301", 0.0)], std4);
    let e = run_err(&years, &geo, &geo);
    assert!(e.contains("geographic CRS"), "{e}");
}
