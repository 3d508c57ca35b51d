//! Where each pool value comes from, as `landcarbon account` reads a carbon folder (issue #11):
//! a litter raster that holds a class default is not a LiDAR value (it takes the account's
//! default per unit class, with its uncertainty and the `default_used` flag); the flag raster's
//! outside-calibration-range bit reaches F-1 as a share per unit-year; `landcarbon carbon`'s
//! file names (`agc_tc_ha.tif`, …) are read; a model calibrated for forest applied to a garden
//! unit is flagged; plot values given in field units (stand volume, dead-wood volume, litter
//! dry mass) reach F-1 converted by the specification's formulas, with method `volume_bef`.

use landcarbon::accounting::config::LidarConfig;
use landcarbon::accounting::density::PoolSource;
use landcarbon::accounting::geom::{MultiPolygon, Polygon};
use landcarbon::accounting::inputs::{load_lidar, Sources};
use landcarbon::accounting::pipeline::{account, AccountInputs, AccountOptions};
use landcarbon::accounting::{classify, Flags, Patch, PatchSet, Pool};
use landcarbon::params::{LandClass, Params};
use landcarbon::points::Crs;
use landcarbon::raster::{write_geotiff, Grid, Raster};
use landcarbon::vector::geos::GeosOps;
use std::path::{Path, PathBuf};

fn grid() -> Grid {
    Grid {
        x_min: 0.0,
        y_max: 1000.0,
        res_m: 100.0,
        ncols: 20,
        nrows: 10,
    }
}

/// A carbon folder as `landcarbon carbon` writes it: AGC 50 t C/ha, a litter raster filled
/// with the forest default, and a flag raster whose left quarter (columns 0-4) is outside the
/// calibration range (bit 1) and column 5 has another flag only (bit 16, clamped).
fn carbon_folder(dir: &Path) {
    let crs = Crs::from_epsg(32650);
    let mut agc = Raster::filled(grid(), -9999.0f32);
    agc.data.fill(50.0);
    write_geotiff(&agc, &crs, &dir.join("agc_tc_ha.tif")).unwrap();
    let mut lt = Raster::filled(grid(), -9999.0f32);
    lt.data.fill(13.0);
    write_geotiff(&lt, &crs, &dir.join("lt_tc_ha.tif")).unwrap();
    let mut flag = Raster::filled(grid(), 255u8);
    flag.data.fill(0);
    for r in 0..10 {
        for c in 0..5 {
            flag.data[[r, c]] = 1;
        }
        flag.data[[r, 5]] = 16;
    }
    write_geotiff(&flag, &crs, &dir.join("flag.tif")).unwrap();
    let meta = serde_json::json!({
        "id": "m@0123456789abcdef", "u_pct": 3.0, "class": "forest",
        "pool_methods": {"agc": "lidar", "bgc": "lidar", "lt": "default"}
    });
    std::fs::write(dir.join("model.json"), meta.to_string()).unwrap();
}

fn patch(id: &str, code: &str, x0: f64, x1: f64) -> Patch {
    let g = MultiPolygon::single(Polygon::rect(x0, 0.0, x1, 1000.0));
    Patch {
        id: id.into(),
        code: code.into(),
        class: None,
        county: "420001".into(),
        county_name: String::new(),
        stratum: String::new(),
        area_ha: g.area() / 1e4,
        planar_m2: g.area(),
        geom: g,
        fid: 0,
    }
}

/// The same patches surveyed in 2020 and 2025, classified.
fn surveys(p: &[Patch], params: &Params) -> (PatchSet, PatchSet) {
    let set = |year| PatchSet {
        year,
        path: PathBuf::from(format!("mem{year}")),
        layer: "p".into(),
        crs_wkt: None,
        patches: p.to_vec(),
        repairs: vec![],
    };
    let (mut a, mut b) = (set(2020), set(2025));
    classify(&mut [&mut a, &mut b], params).unwrap();
    (a, b)
}

#[test]
fn carbon_folder_pools_keep_their_true_method() {
    let dir = tempfile::tempdir().unwrap();
    carbon_folder(dir.path());
    let cfg = LidarConfig {
        dir: Some(dir.path().to_path_buf()),
        classes: vec![LandClass::Forest, LandClass::Garden],
        ..Default::default()
    };
    let mut paths = Vec::new();
    let (l, _) = load_lidar(&cfg, "t1", &mut paths).unwrap().unwrap();
    assert!(l.pools[Pool::Agb.ix()].is_some(), "agc_tc_ha.tif is read");
    assert!(
        l.pools[Pool::Lt.ix()].is_none(),
        "a default raster is not a LiDAR pool"
    );
    assert_eq!(l.default_pools, ["lt"]);
    assert_eq!(l.model_class, Some(LandClass::Forest));
    let x = l
        .extrapolated
        .as_ref()
        .expect("flag.tif gives the extrapolation mask");
    assert_eq!(x.data[[0, 0]], 1.0);
    assert_eq!(
        x.data[[0, 5]],
        0.0,
        "a clamped-only cell is not extrapolated"
    );

    // Forest unit over columns 0-9 (half its cells extrapolated), garden over columns 10-19.
    let p = vec![
        patch("F", "0301", 0.0, 1000.0),
        patch("G", "0201", 1000.0, 2000.0),
    ];
    let params = Params::load(None).unwrap();
    let (a, b) = surveys(&p, &params);
    let src = || Sources {
        lidar: Some(l.clone()),
        ..Default::default()
    };
    let acc = account(
        AccountInputs {
            t1: a,
            t2: b,
            sources: [src(), src()],
            params: params.clone(),
            options: AccountOptions {
                mc: None,
                ..Default::default()
            },
        },
        &GeosOps,
    )
    .unwrap();
    let f = acc.units.iter().find(|u| u.id == "F|F").unwrap();
    let d = &f.density[0];
    assert_eq!(d.pool_source[Pool::Agb.ix()], PoolSource::Lidar);
    assert_eq!(d.pool_source[Pool::Lt.ix()], PoolSource::Default);
    assert!(d.flags.has(Flags::DEFAULT_USED));
    let share = d.extrapolated_share.unwrap();
    assert!((share - 0.5).abs() < 1e-9, "{share}");
    assert!(d.flags.has(Flags::EXTRAPOLATED));
    // The litter default carries its uncertainty (IPCC range 2-31 around 13: ±111 %).
    let lt_default = params
        .class_defaults(LandClass::Forest)
        .litter_tc_ha
        .unwrap();
    let u = lt_default.u_pct().unwrap();
    assert!(u > 100.0, "{u}");
    let lt_term = d.terms.iter().find(|(p, _)| *p == Pool::Lt).unwrap();
    let src_u = acc.registry.get(lt_term.1.sources[0]).rel_half_width() * 100.0;
    assert!((src_u - u).abs() < 1e-9, "{src_u} vs {u}");
    // Forest DW has no default and no measurement: NE, an empty field and a flag.
    assert_eq!(d.pool_source[Pool::Dw.ix()], PoolSource::NotEstimated);
    assert!(f.flags.has(Flags::NOT_ESTIMATED));
    let g = acc.units.iter().find(|u| u.id == "G|G").unwrap();
    assert!(
        g.flags.has(Flags::MODEL_OTHER_CLASS),
        "forest model on a garden unit"
    );
    assert_eq!(g.density[0].extrapolated_share, Some(0.0));
    assert!(!g.density[0].flags.has(Flags::EXTRAPOLATED));
    // F-1 writes the NE pool empty and every pool's method.
    let t = landcarbon::accounting::tables::f1(&acc);
    let row = &t.rows[t.rows.iter().position(|r| r[0].text() == "F|F").unwrap()];
    let col = |n: &str| row[t.col(n).unwrap()].text();
    assert_eq!(col("DW_t1"), "");
    assert_eq!(col("DW_method_t1"), "NE");
    assert_eq!(col("LT_method_t1"), "default");
    assert_eq!(col("AGB_method_t1"), "lidar");
    assert_eq!(col("extrap_pct_t1"), "50.0");
}

#[test]
fn field_unit_plots_reach_f1_as_volume_bef_dead_wood_and_litter_carbon() {
    use landcarbon::accounting::plots::PlotTable;
    let params = Params::load(None).unwrap();
    // Two forest plots per year: stand volume (Masson pine), dead-wood volume with the decay
    // class density, litter dry mass per m².
    let table = |v1: f64, v2: f64| {
        format!(
            "plot_id,class,pool,value,unit,decay_density_t_m3,species\n\
             a,forest,AGB,{v1},m3_ha,,Pinus massoniana\n\
             b,forest,AGB,{v2},m3_ha,,Pinus massoniana\n\
             a,forest,DW,10,m3_ha,0.4,\n\
             b,forest,DW,20,m3_ha,0.3,\n\
             a,forest,LT,0.5,kg_m2,,\n\
             b,forest,LT,0.7,kg_m2,,\n"
        )
    };
    let tab =
        |v1, v2, name: &str| PlotTable::parse(&table(v1, v2), Path::new(name), &params).unwrap();
    let p = vec![patch("F", "0301", 0.0, 1000.0)];
    let (a, b) = surveys(&p, &params);
    let acc = account(
        AccountInputs {
            t1: a,
            t2: b,
            sources: [
                Sources {
                    plots: Some(tab(100.0, 120.0, "p2020.csv")),
                    ..Default::default()
                },
                Sources {
                    plots: Some(tab(110.0, 130.0, "p2025.csv")),
                    ..Default::default()
                },
            ],
            params: params.clone(),
            options: AccountOptions {
                mc: None,
                ..Default::default()
            },
        },
        &GeosOps,
    )
    .unwrap();
    let f = &acc.units[0];
    let d = &f.density[0];
    // Mean volume 110 m³/ha → (AGB + BGB) carbon 1.1 × 30.542 (carbon-accounting.md §3.2).
    let live = d.pools[Pool::Agb.ix()] + d.pools[Pool::Bgb.ix()];
    assert!((live - 1.1 * 30.542).abs() < 1e-3, "{live}");
    assert_eq!(d.pool_source[Pool::Agb.ix()], PoolSource::VolumeBef);
    assert_eq!(d.pool_source[Pool::Bgb.ix()], PoolSource::VolumeBef);
    // DW: mean of 10·0.4·0.5 and 20·0.3·0.5 = 2.5; LT: mean of 0.5 and 0.7 kg/m² × 10 × 0.37.
    assert!((d.pools[Pool::Dw.ix()] - 2.5).abs() < 1e-9);
    assert!((d.pools[Pool::Lt.ix()] - 0.6 * 3.7).abs() < 1e-9);
    assert_eq!(d.pool_source[Pool::Dw.ix()], PoolSource::Plot);
    let t = landcarbon::accounting::tables::f1(&acc);
    let row = &t.rows[0];
    let col = |n: &str| row[t.col(n).unwrap()].text();
    assert_eq!(col("method_t1"), "volume_bef");
    assert_eq!(col("AGB_method_t1"), "volume_bef");
    assert_eq!(col("DW_method_t1"), "plot");
    // The source list names the conversion.
    let lt = d.terms.iter().find(|(p, _)| *p == Pool::Lt).unwrap();
    let label = &acc.registry.get(lt.1.sources[0]).label;
    assert!(label.contains("CF_lt 0.37"), "{label}");
}
