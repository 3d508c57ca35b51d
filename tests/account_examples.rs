//! The worked examples of carbon-accounting.md run through the whole accounting pipeline
//! (overlay with GEOS, densities from plot tables and defaults, stocks, sink, aggregation,
//! approach 1 and the Monte Carlo): §4.4 (800 t C/yr, 2 933.33 t CO₂/yr, 63.42 / 67.63 t C/ha)
//! and §5.6 (8.6580 %, 9.1925 %, 6.8139 %, 13.9116 %, 4 400.0 ± 612.11 t CO₂/yr, MC within
//! 0.15 points of 8.658 %), plus area conservation through the overlay.

use landcarbon::accounting::geom::{MultiPolygon, Polygon};
use landcarbon::accounting::inputs::Sources;
use landcarbon::accounting::montecarlo::McOptions;
use landcarbon::accounting::overlay::{overlay, AreaYear, OverlayOptions};
use landcarbon::accounting::pipeline::{account, AccountInputs, AccountOptions};
use landcarbon::accounting::plots::PlotTable;
use landcarbon::accounting::{classify, Patch, PatchSet, CO2_PER_C};
use landcarbon::params::{LandClass, Params};
use landcarbon::vector::geos::GeosOps;
use std::path::{Path, PathBuf};

fn patch(
    id: &str,
    code: &str,
    county: &str,
    stratum: &str,
    x0: f64,
    x1: f64,
    area_ha: f64,
) -> Patch {
    // A 1 km tall strip; planar area (x1-x0)·1000 m².
    let g = MultiPolygon::single(Polygon::rect(x0, 0.0, x1, 1000.0));
    Patch {
        id: id.into(),
        code: code.into(),
        class: None,
        county: county.into(),
        county_name: String::new(),
        stratum: stratum.into(),
        area_ha,
        planar_m2: g.area(),
        geom: g,
        fid: 0,
    }
}

fn set(year: i32, patches: Vec<Patch>) -> PatchSet {
    PatchSet {
        year,
        path: PathBuf::from(format!("mem{year}")),
        layer: "p".into(),
        crs_wkt: None,
        patches,
        repairs: vec![],
    }
}

fn sources(plots: &str, name: &str) -> Sources {
    Sources {
        plots: Some(PlotTable::parse(plots, Path::new(name), &Params::defaults()).unwrap()),
        ..Default::default()
    }
}

/// Parameters where forest litter and SOC and cropland pools other than SOC are zero, so the
/// plot rows are the whole density (as in the worked examples).
fn example_params(crop_soc: Option<(f64, f64)>) -> Params {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.toml");
    let mut t = String::from(
        "[classes.forest]\nlitter_tc_ha = { mean = 0.0, sd = 0.0, source = \"test\" }\nsoc_tc_ha = { mean = 0.0, sd = 0.0, source = \"test\" }\n",
    );
    match crop_soc {
        Some((m, sd)) => t.push_str(&format!(
            "[classes.cropland]\nsoc_tc_ha = {{ mean = {m}, sd = {sd}, source = \"test\" }}\n"
        )),
        None => t.push_str(
            "[classes.cropland]\nsoc_tc_ha = { mean = 0.0, sd = 0.0, source = \"test\" }\n",
        ),
    }
    std::fs::write(&f, t).unwrap();
    Params::load(Some(&f)).unwrap()
}

#[test]
fn worked_example_4_4_through_the_pipeline() {
    // P1 forest 600 ha, P2 cropland 300 ha, P3 cropland -> forest 50 ha (strips of a county).
    let t1 = vec![
        patch("P1", "0301", "420999", "", 0.0, 6000.0, 600.0),
        patch("P2", "0101", "420999", "", 6000.0, 9000.0, 300.0),
        patch("P3", "0101", "420999", "", 9000.0, 9500.0, 50.0),
    ];
    let t2 = vec![
        patch("P1", "0301", "420999", "", 0.0, 6000.0, 600.0),
        patch("P2", "0101", "420999", "", 6000.0, 9000.0, 300.0),
        patch("P3", "0301", "420999", "young", 9000.0, 9500.0, 50.0),
    ];
    let p1 = "class,stratum,pool,mean,sd,n\nforest,,AGB,80,8,10\ncropland,,AGB,35,3,10\n";
    let p2 = "class,stratum,pool,mean,sd,n\nforest,,AGB,86,8,10\nforest,young,AGB,40,6,10\ncropland,,AGB,35.5,3,10\n";
    let params = example_params(None);
    let (mut a, mut b) = (set(2020, t1), set(2025, t2));
    classify(&mut [&mut a, &mut b], &params).unwrap();
    let acc = account(
        AccountInputs {
            t1: a,
            t2: b,
            sources: [sources(p1, "p1.csv"), sources(p2, "p2.csv")],
            params,
            options: AccountOptions {
                mc: None,
                ..Default::default()
            },
        },
        &GeosOps,
    )
    .unwrap();
    assert_eq!(acc.units.len(), 3);
    let r = &acc.region;
    assert!((r.area_ha - 950.0).abs() < 1e-9);
    assert!(
        (r.stock_total(0) - 60_250.0).abs() < 1e-6,
        "{}",
        r.stock_total(0)
    );
    assert!((r.stock_total(1) - 64_250.0).abs() < 1e-6);
    assert!((r.sink.tc_yr_total() - 800.0).abs() < 1e-9);
    assert!((r.sink.co2_yr_total() - 2933.33).abs() < 5e-3);
    assert!((r.density(0) - 63.42).abs() < 5e-3 && (r.density(1) - 67.63).abs() < 5e-3);
    let p3 = acc.units.iter().find(|u| u.id == "P3|P3").unwrap();
    assert_eq!(p3.change_flag, 1);
    assert!((p3.sink.co2_yr_total() - 183.33).abs() < 5e-3);
    assert_eq!(p3.density[0].method.name(), "plot");
}

const T1: &str = "plot_id,class,stratum,pool,value\n\
    p01,forest,,AGB,40\np02,forest,,AGB,44\np03,forest,,AGB,46\np04,forest,,AGB,48\np05,forest,,AGB,50\n\
    p06,forest,,AGB,50\np07,forest,,AGB,52\np08,forest,,AGB,54\np09,forest,,AGB,56\np10,forest,,AGB,60\n";
const T2: &str = "plot_id,class,stratum,pool,value\n\
    p01,forest,,AGB,44\np02,forest,,AGB,49\np03,forest,,AGB,51\np04,forest,,AGB,54\np05,forest,,AGB,56\n\
    p06,forest,,AGB,56\np07,forest,,AGB,58\np08,forest,,AGB,61\np09,forest,,AGB,63\np10,forest,,AGB,68\n";

#[test]
fn worked_example_5_6_through_the_pipeline() {
    // Forest stratum 1000 ha (county A, remeasured plots), cropland SOC stratum 2000 ha at
    // 30 t C/ha ± 10 % (county B, a default with sd = 3/1.96); area U 2 %. The forest is split
    // into several patches sharing the stratum density: they must be combined per stratum,
    // not treated as independent.
    let mut t1 = Vec::new();
    for k in 0..4 {
        let x = k as f64 * 2500.0;
        t1.push(patch(
            &format!("F{k}"),
            "0301",
            "420001",
            "",
            x,
            x + 2500.0,
            250.0,
        ));
    }
    t1.push(patch(
        "C1", "0101", "420002", "", 10_000.0, 30_000.0, 2000.0,
    ));
    let t2 = t1.clone();
    let params = example_params(Some((30.0, 3.0 / 1.96)));
    let (mut a, mut b) = (set(2020, t1), set(2025, t2));
    classify(&mut [&mut a, &mut b], &params).unwrap();
    let acc = account(
        AccountInputs {
            t1: a,
            t2: b,
            sources: [sources(T1, "t1.csv"), sources(T2, "t2.csv")],
            params,
            options: AccountOptions {
                area_u_pct: 2.0,
                mc: Some(McOptions {
                    draws: 200_000,
                    seed: 20240601,
                    lognormal_above_cv: 0.3,
                }),
                ..Default::default()
            },
        },
        &GeosOps,
    )
    .unwrap();
    assert_eq!(acc.counties.len(), 2);
    let forest = &acc.a1[0];
    assert!((forest.stock_t1 - 50_000.0).abs() < 1e-6);
    assert!(
        (forest.u_stock_t1_pct().unwrap() - 8.6580).abs() < 5e-5,
        "{:?}",
        forest.u_stock_t1_pct()
    );
    assert!(
        (forest.u_stock_t2_pct().unwrap() - 9.1925).abs() < 5e-5,
        "{:?}",
        forest.u_stock_t2_pct()
    );
    assert!(
        (forest.u_sink_pct().unwrap() - 13.9116).abs() < 5e-5,
        "{:?}",
        forest.u_sink_pct()
    );
    let region = acc.a1.last().unwrap();
    assert!((region.stock_t1 - 110_000.0).abs() < 1e-6);
    assert!(
        (region.u_stock_t1_pct().unwrap() - 6.8139).abs() < 5e-5,
        "{:?}",
        region.u_stock_t1_pct()
    );
    let sink_co2 = region.sink_tc_yr * CO2_PER_C;
    assert!((sink_co2 - 4400.0).abs() < 1e-6, "{sink_co2}");
    assert!(
        (region.h_sink_tc_yr * CO2_PER_C - 612.11).abs() < 5e-3,
        "{}",
        region.h_sink_tc_yr * CO2_PER_C
    );
    // Per unit: each forest patch alone has the same relative uncertainty (fully correlated).
    for u in acc.units.iter().filter(|u| u.id.starts_with('F')) {
        assert!((u.u_sink_pct.unwrap() - 13.9116).abs() < 5e-5);
        assert!((u.u_density_pct[0].unwrap() - 8.4238).abs() < 5e-5);
    }
    // Approach 2: forest stock U within 0.15 points of 8.658 %.
    let mc = acc.mc.as_ref().unwrap();
    let u_mc = mc.groups[0][0].u_pct().unwrap();
    assert!((u_mc - 8.658).abs() < 0.15, "MC {u_mc}");
    let u_mc_sink = mc.region[2].u_pct().unwrap();
    assert!((u_mc_sink - 13.9116).abs() < 0.4, "MC sink {u_mc_sink}");
    eprintln!("MC: forest stock U {u_mc:.3} %, region sink U {u_mc_sink:.3} %");
}

#[test]
fn overlay_conserves_area() {
    use landcarbon::accounting::synth_county::{generate, SynthCountyParams};
    let c = generate(&SynthCountyParams {
        nx: 30,
        ny: 30,
        ..Default::default()
    });
    let to_patches = |y: usize| -> Vec<Patch> {
        c.patches[y]
            .iter()
            .map(|p| Patch {
                id: p.id.clone(),
                code: p.code.clone(),
                class: None,
                county: p.zldwdm[..6].to_string(),
                county_name: String::new(),
                stratum: p.stratum.clone(),
                area_ha: p.tbmj_m2 * 1e-4,
                planar_m2: p.geom.area(),
                geom: p.geom.clone(),
                fid: 0,
            })
            .collect()
    };
    let (a, mut b) = (to_patches(0), to_patches(1));
    for ay in [AreaYear::T1, AreaYear::T2] {
        let ov = overlay(
            &a,
            &b,
            &GeosOps,
            &OverlayOptions {
                sliver_m2: 1.0,
                area_year: ay,
            },
        )
        .unwrap();
        let bal = &ov.balance;
        let k = if ay == AreaYear::T1 { 0 } else { 1 };
        eprintln!(
            "{ay:?}: {} units, {} slivers ({:.3} m²), closure area {:.2e}, planar {:.2e}",
            ov.units.len(),
            ov.slivers.len(),
            bal.sliver_planar_m2,
            bal.closure_area_rel,
            bal.closure_planar_rel
        );
        assert!(bal.closure_area_rel < 1e-9, "{}", bal.closure_area_rel);
        assert!(bal.closure_planar_rel < 1e-9, "{}", bal.closure_planar_rel);
        assert!((bal.unit_area_ha - bal.patch_area_ha[k]).abs() < 1e-9 * bal.patch_area_ha[k]);
        assert!(
            !ov.slivers.is_empty(),
            "the 1 cm vertex moves must give slivers"
        );
        assert!(ov.gaps.is_empty());
        // Per patch of the area year: its units add up to its TBMJ.
        let patches = if k == 0 { &a } else { &b };
        let mut sum = vec![0.0; patches.len()];
        for u in &ov.units {
            sum[if k == 0 { u.i1 } else { u.i2 }] += u.area_ha;
        }
        for (p, s) in patches.iter().zip(&sum) {
            assert!(
                (p.area_ha - s).abs() < 1e-9 * p.area_ha,
                "{} {} {}",
                p.id,
                p.area_ha,
                s
            );
        }
    }
    // A t2 patch missing: its area becomes a gap of the t1 patches, reported, balance kept.
    let removed = b.remove(10);
    let ov = overlay(
        &a,
        &b,
        &GeosOps,
        &OverlayOptions {
            sliver_m2: 1.0,
            area_year: AreaYear::T1,
        },
    )
    .unwrap();
    let gap: f64 = ov.gaps.iter().map(|g| g.planar_m2).sum();
    assert!(
        (gap - removed.planar_m2).abs() < 1e-6 * removed.planar_m2,
        "{gap} vs {}",
        removed.planar_m2
    );
    assert!(ov.balance.closure_area_rel < 1e-9);
    assert!(
        (ov.balance.unit_area_ha + ov.balance.gap_area_ha - ov.balance.patch_area_ha[0]).abs()
            < 1e-6
    );
    // Overlapping patches within a survey are refused.
    let mut dup = b.clone();
    let mut extra = dup[0].clone();
    extra.id = "overlapping".into();
    dup.push(extra);
    let e = overlay(&a, &dup, &GeosOps, &OverlayOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("overlap") && e.contains("overlapping"), "{e}");
}

#[test]
fn equivalent_soil_mass_through_the_pipeline() {
    use landcarbon::accounting::soil::SoilTable;
    // Cropland whose bulk density falls from 1.5 to 1.2 g/cm³ at the same SOC concentration:
    // fixed-depth SOC 45 → 36 t C/ha (a spurious loss); at equivalent soil mass 45 → 45.
    let soil = "class,year,top_cm,bottom_cm,soc_g_kg,bd_g_cm3\ncropland,2020,0,30,10,1.5\ncropland,2025,0,30,10,1.2\n";
    let run = |esm: bool| {
        let params = example_params(None);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("soil.csv");
        std::fs::write(&f, soil).unwrap();
        let tab = SoilTable::read(&f, "error").unwrap();
        let src = || Sources {
            soil: Some(tab.clone()),
            ..Default::default()
        };
        let (mut a, mut b) = (
            set(
                2020,
                vec![patch("C", "0101", "420999", "", 0.0, 1000.0, 100.0)],
            ),
            set(
                2025,
                vec![patch("C", "0101", "420999", "", 0.0, 1000.0, 100.0)],
            ),
        );
        classify(&mut [&mut a, &mut b], &params).unwrap();
        account(
            AccountInputs {
                t1: a,
                t2: b,
                sources: [src(), src()],
                params,
                options: AccountOptions {
                    mc: None,
                    esm,
                    ..Default::default()
                },
            },
            &GeosOps,
        )
        .unwrap()
    };
    let fixed = run(false);
    assert!((fixed.units[0].density[1].pools[4] - 36.0).abs() < 1e-9);
    assert!((fixed.region.sink.tc_yr_total() + 9.0 * 100.0 / 5.0).abs() < 1e-9);
    let esm = run(true);
    assert!((esm.units[0].density[1].pools[4] - 45.0).abs() < 1e-9);
    assert!(esm.units[0].flags.names().contains("esm_corrected"));
    assert_eq!(esm.n_esm_corrected, 1);
    assert!(esm.region.sink.tc_yr_total().abs() < 1e-9);
}

/// A calibrated model of one survey: log–log AGB on zmean, fitted on `plots` (zmean, AGB).
fn fit_survey(plots: &[(f64, f64)], tag: &str) -> landcarbon::biomass::model::ModelFile {
    use landcarbon::biomass::calibrate::{calibrate_table, CalibrateOptions};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(format!("{tag}.csv"));
    let mut t = String::from("plot_id,zmean,agb_t_ha\n");
    for (i, (z, a)) in plots.iter().enumerate() {
        t.push_str(&format!("{tag}{i:02},{z},{a}\n"));
    }
    std::fs::write(&p, t).unwrap();
    let table = landcarbon::vector::table::read_csv(&p).unwrap();
    let opts = CalibrateOptions {
        predictors: vec!["zmean".into()],
        fixed: true,
        ..Default::default()
    };
    calibrate_table(&table, &opts, tag).unwrap()
}

/// LiDAR rasters of one year over the 1 km × 1 km square: AGC `agc_tc_ha` everywhere.
fn lidar_year(
    agc_tc_ha: f64,
    meta: &serde_json::Value,
) -> landcarbon::accounting::density::LidarSource {
    use landcarbon::raster::{Grid, Raster};
    let grid = Grid {
        x_min: 0.0,
        y_max: 1000.0,
        res_m: 100.0,
        ncols: 10,
        nrows: 10,
    };
    let mut agc = Raster::filled(grid, -9999.0);
    agc.data.fill(agc_tc_ha);
    landcarbon::accounting::density::LidarSource {
        name: "lidar".into(),
        grid,
        pools: [Some(agc), None, None, None, None],
        se: None,
        extrapolated: None,
        classes: vec![landcarbon::params::LandClass::Forest],
        method: landcarbon::accounting::Method::LidarAba,
        se_mode: Default::default(),
        model_id: meta["id"].as_str().unwrap().to_string(),
        model_u_pct: meta["u_pct"].as_f64(),
        min_coverage: 0.5,
        extrapolation_flag_pct: 5.0,
        model_info: Some(meta.clone()),
        model_class: None,
        root_shoot_zone: None,
        default_pools: vec![],
    }
}

fn lidar_account(
    l1: landcarbon::accounting::density::LidarSource,
    l2: landcarbon::accounting::density::LidarSource,
) -> landcarbon::accounting::pipeline::Accounting {
    let p = vec![patch("F", "0301", "420001", "", 0.0, 1000.0, 100.0)];
    let params = example_params(None);
    let (mut a, mut b) = (set(2020, p.clone()), set(2025, p));
    classify(&mut [&mut a, &mut b], &params).unwrap();
    let src = |l| Sources {
        lidar: Some(l),
        ..Default::default()
    };
    account(
        AccountInputs {
            t1: a,
            t2: b,
            sources: [src(l1), src(l2)],
            params,
            options: AccountOptions {
                area_u_pct: 0.0,
                mc: Some(McOptions {
                    draws: 200_000,
                    seed: 7,
                    lognormal_above_cv: 0.3,
                }),
                ..Default::default()
            },
        },
        &GeosOps,
    )
    .unwrap()
}

#[test]
fn separately_fitted_lidar_models_are_independent_in_the_sink() {
    use landcarbon::pipeline::reduce::model_metadata;
    // Two surveys calibrated on different plots; both select the same single predictor, so a
    // name-based identity would call them one model and cancel its error in the sink.
    let m1 = fit_survey(
        &[
            (5.0, 60.0),
            (8.0, 95.0),
            (10.0, 118.0),
            (12.0, 150.0),
            (15.0, 175.0),
            (18.0, 230.0),
            (20.0, 240.0),
            (7.0, 90.0),
        ],
        "a",
    );
    let m2 = fit_survey(
        &[
            (6.0, 80.0),
            (9.0, 110.0),
            (11.0, 150.0),
            (14.0, 170.0),
            (16.0, 215.0),
            (19.0, 250.0),
            (22.0, 300.0),
            (13.0, 160.0),
        ],
        "b",
    );
    let (meta1, meta2) = (model_metadata(&m1), model_metadata(&m2));
    assert_ne!(
        meta1["id"], meta2["id"],
        "separate fits must have separate identities"
    );
    assert_eq!(
        model_metadata(&m1)["id"],
        meta1["id"],
        "the identity is stable"
    );
    let (u1, u2) = (
        meta1["u_pct"].as_f64().unwrap() / 100.0,
        meta2["u_pct"].as_f64().unwrap() / 100.0,
    );
    assert!(u1 > 0.0 && u2 > 0.0);
    let (a1, a2, area_ha, dt) = (80.0, 100.0, 100.0, 5.0);
    let acc = lidar_account(lidar_year(a1, &meta1), lidar_year(a2, &meta2));
    let r = acc.a1.last().unwrap();
    // From the inputs: independent model errors add in quadrature in the difference.
    let sink = (a2 - a1) * area_ha / dt;
    let h = ((a2 * area_ha * u2).powi(2) + (a1 * area_ha * u1).powi(2)).sqrt() / dt;
    assert!((r.sink_tc_yr - sink).abs() < 1e-9, "{}", r.sink_tc_yr);
    assert!(
        (r.h_sink_tc_yr - h).abs() < 1e-6 * h,
        "approach 1 half-width {} vs {h}",
        r.h_sink_tc_yr
    );
    // The one transition cell (forest → forest) holds every unit: same half-width (F-3).
    let cell = &acc.transitions[&(LandClass::Forest, LandClass::Forest)];
    let hc = cell.h_sink_tc_yr.unwrap();
    assert!(
        (hc - h).abs() < 1e-6 * h,
        "transition half-width {hc} vs {h}"
    );
    let cc = &acc.county_transitions[&("420001".to_string(), LandClass::Forest, LandClass::Forest)];
    assert_eq!(cc.h_sink_tc_yr, cell.h_sink_tc_yr);
    let u_a1 = r.u_sink_pct().unwrap();
    let mc = acc.mc.as_ref().unwrap().region[2].u_pct().unwrap();
    assert!((mc - u_a1).abs() < 0.02 * u_a1, "MC {mc} vs A1 {u_a1}");
    // The report lists no model error as shared between the years.
    let shared =
        landcarbon::accounting::uncertainty::shared_between_years(&acc.registry, &acc.ledger);
    assert!(
        shared.iter().all(|k| !k.key.starts_with("lidar_model:")),
        "{shared:?}"
    );
    // Control: one model file used for both years shares its error, which cancels in part.
    let acc = lidar_account(lidar_year(a1, &meta1), lidar_year(a2, &meta1));
    let r = acc.a1.last().unwrap();
    let h_same = (a2 - a1) * area_ha * u1 / dt;
    assert!(
        (r.h_sink_tc_yr - h_same).abs() < 1e-6 * h_same,
        "{} vs {h_same}",
        r.h_sink_tc_yr
    );
    let shared =
        landcarbon::accounting::uncertainty::shared_between_years(&acc.registry, &acc.ledger);
    assert!(shared.iter().any(|k| k.key.starts_with("lidar_model:")));
}
