//! `landcarbon account`: patch-level carbon accounting of two land-survey years
//! (carbon-accounting.md §4–§7). Reads the patches and density sources, runs
//! `landcarbon::accounting::pipeline`, writes F-1/F-2/F-3 (CSV), `units.gpkg`, the HTML report
//! with maps, `uncertainty.csv`, `issues.csv` and `run.json` into `--out`.
//!
//! Every flag maps onto a key of the `[account]` section (flags override the file); paths in
//! the file are relative to the file.

use super::common::{load_config, Common, Outcome};
use anyhow::Context;
use landcarbon::accounting::config::{AccountConfig, AreaUnit};
use landcarbon::accounting::montecarlo::McOptions;
use landcarbon::accounting::overlay::{AreaYear, OverlayOptions};
use landcarbon::accounting::pipeline::{self, AccountInputs, AccountOptions};
use landcarbon::accounting::{classify, inputs, report, tables, CO2_PER_C};
use landcarbon::params::Params;
use landcarbon::vector::{geos, gpkg_out, patches};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Base-year patches (GeoPackage, Shapefile, ...). [account.patches_t1]
    #[arg(long)]
    pub patches_t1: Option<PathBuf>,
    /// Measurement-year patches. [account.patches_t2]
    #[arg(long)]
    pub patches_t2: Option<PathBuf>,
    /// Layer of the t1 file (default: first). [account.layer_t1]
    #[arg(long)]
    pub layer_t1: Option<String>,
    /// Layer of the t2 file (default: first). [account.layer_t2]
    #[arg(long)]
    pub layer_t2: Option<String>,
    /// Base year t1. [account.year_t1]
    #[arg(long)]
    pub year_t1: Option<i32>,
    /// Measurement year t2 (> t1). [account.year_t2]
    #[arg(long)]
    pub year_t2: Option<i32>,
    /// LiDAR density rasters of t1: a folder (agc.tif, bgc.tif, dw.tif, lt.tif, soc.tif,
    /// se.tif, extrapolated.tif, model.json), a .toml file, or agc=PATH,bgc=PATH,se=PATH,...
    /// [account.t1.density]
    #[arg(long)]
    pub density_t1: Option<String>,
    /// LiDAR density rasters of t2. [account.t2.density]
    #[arg(long)]
    pub density_t2: Option<String>,
    /// Plot table of t1 (CSV). [account.t1.plots]
    #[arg(long)]
    pub plots_t1: Option<PathBuf>,
    /// Plot table of t2 (CSV). [account.t2.plots]
    #[arg(long)]
    pub plots_t2: Option<PathBuf>,
    /// Soil layer table of t1 (CSV). [account.t1.soil]
    #[arg(long)]
    pub soil_t1: Option<PathBuf>,
    /// Soil layer table of t2 (CSV). [account.t2.soil]
    #[arg(long)]
    pub soil_t2: Option<PathBuf>,
    /// Parameter file overriding the built-in defaults. [account.params]
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Output folder; its files are overwritten. [account.out]
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Sliver threshold in m² (default 1). [account.sliver_m2]
    #[arg(long)]
    pub sliver_m2: Option<f64>,
    /// Whose area field is apportioned to the units: t1 or t2 (default). [account.area_year]
    #[arg(long)]
    pub area_year: Option<String>,
    /// 95 % uncertainty of areas in % (default 2). [account.area_u_pct]
    #[arg(long)]
    pub area_u_pct: Option<f64>,
    /// Monte Carlo draws (>= 10000; 0 skips it; default 100000). [account.mc_draws]
    #[arg(long)]
    pub mc_draws: Option<usize>,
    /// Monte Carlo seed (default 20240601). [account.mc_seed]
    #[arg(long)]
    pub mc_seed: Option<u64>,
    /// Equivalent-soil-mass correction of SOC. [account.esm]
    #[arg(long)]
    pub esm: bool,
    /// Patch id field (default BSM). [account.fields.id]
    #[arg(long)]
    pub field_id: Option<String>,
    /// Class code field (default DLBM). [account.fields.class]
    #[arg(long)]
    pub field_class: Option<String>,
    /// County code field (default: first 6 digits of the location field). [account.fields.county]
    #[arg(long)]
    pub field_county: Option<String>,
    /// Location code field (default ZLDWDM). [account.fields.location]
    #[arg(long)]
    pub field_location: Option<String>,
    /// Area field (default TBMJ). [account.fields.area]
    #[arg(long)]
    pub field_area: Option<String>,
    /// Unit of the area field: m2, ha or mu. [account.fields.area_unit]
    #[arg(long)]
    pub area_unit: Option<String>,
    /// Stratum field (optional). [account.fields.stratum]
    #[arg(long)]
    pub field_stratum: Option<String>,
}

fn apply_flags(cfg: &mut AccountConfig, a: &Args) -> anyhow::Result<()> {
    macro_rules! set {
        ($flag:expr, $key:expr) => {
            if let Some(v) = &$flag {
                $key = Some(v.clone());
            }
        };
    }
    set!(a.patches_t1, cfg.patches_t1);
    set!(a.patches_t2, cfg.patches_t2);
    set!(a.layer_t1, cfg.layer_t1);
    set!(a.layer_t2, cfg.layer_t2);
    set!(a.year_t1, cfg.year_t1);
    set!(a.year_t2, cfg.year_t2);
    set!(a.params, cfg.params);
    set!(a.out, cfg.out);
    set!(a.plots_t1, cfg.t1.plots);
    set!(a.plots_t2, cfg.t2.plots);
    set!(a.soil_t1, cfg.t1.soil);
    set!(a.soil_t2, cfg.t2.soil);
    set!(a.density_t1, cfg.t1.density);
    set!(a.density_t2, cfg.t2.density);
    if let Some(v) = a.sliver_m2 {
        cfg.sliver_m2 = v;
    }
    if let Some(v) = &a.area_year {
        cfg.area_year = match v.as_str() {
            "t1" => AreaYear::T1,
            "t2" => AreaYear::T2,
            o => anyhow::bail!("--area-year must be t1 or t2, got {o}"),
        };
    }
    if let Some(v) = a.area_u_pct {
        cfg.area_u_pct = v;
    }
    if let Some(v) = a.mc_draws {
        cfg.mc_draws = v;
    }
    if let Some(v) = a.mc_seed {
        cfg.mc_seed = v;
    }
    if a.esm {
        cfg.esm = true;
    }
    let f = &mut cfg.fields;
    for (flag, key) in [
        (&a.field_id, &mut f.id),
        (&a.field_class, &mut f.class),
        (&a.field_county, &mut f.county),
        (&a.field_location, &mut f.location),
        (&a.field_area, &mut f.area),
        (&a.field_stratum, &mut f.stratum),
    ] {
        if let Some(v) = flag {
            *key = v.clone();
        }
    }
    if let Some(u) = &a.area_unit {
        f.area_unit = match u.as_str() {
            "m2" => AreaUnit::M2,
            "ha" => AreaUnit::Ha,
            "mu" => AreaUnit::Mu,
            o => anyhow::bail!("--area-unit must be m2, ha or mu, got {o}"),
        };
    }
    Ok(())
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    // GDAL/GEOS messages go to the log: validity notices are reported by the repair itself.
    gdal::config::set_error_handler(|class, _, msg| match class {
        gdal::errors::CplErrType::Failure | gdal::errors::CplErrType::Fatal => {
            log::error!("GDAL: {msg}")
        }
        _ => log::debug!("GDAL: {msg}"),
    });
    let full = load_config(c, None)?;
    let mut cfg = full.account.clone();
    if let Some(p) = &c.config {
        cfg.resolve_relative(p.parent().unwrap_or(std::path::Path::new(".")));
    }
    apply_flags(&mut cfg, a)?;
    run_config(c, cfg, started)
}

/// Runs the accounting with a complete `[account]` configuration (also used by `landcarbon
/// run` once the surveys' carbon-density rasters exist).
pub fn run_config(c: &Common, mut cfg: AccountConfig, started: Instant) -> anyhow::Result<Outcome> {
    cfg.validate()?;
    let need = |v: &Option<PathBuf>, what: &str| {
        v.clone()
            .with_context(|| format!("{what} is required (flag or [account] key)"))
    };
    let p1 = need(&cfg.patches_t1, "--patches-t1")?;
    let p2 = need(&cfg.patches_t2, "--patches-t2")?;
    let out = need(&cfg.out, "--out")?;
    let (Some(y1), Some(y2)) = (cfg.year_t1, cfg.year_t2) else {
        anyhow::bail!("--year-t1 and --year-t2 are required (flags or [account] keys)");
    };
    landcarbon::accounting::sink::check_years(y1, y2)?;
    let params = Params::load(cfg.params.as_deref())?;

    let t0 = Instant::now();
    let mut t1 = patches::read_patches(&p1, cfg.layer_t1.as_deref(), &cfg.fields, y1)?;
    let mut t2 = patches::read_patches(&p2, cfg.layer_t2.as_deref(), &cfg.fields, y2)?;
    if !geos::same_crs(t1.crs_wkt.as_deref(), t2.crs_wkt.as_deref())? {
        anyhow::bail!(
            "CRS mismatch: {} is in {} but {} is in {}; reproject one survey",
            p1.display(),
            geos::describe(t1.crs_wkt.as_deref()),
            p2.display(),
            geos::describe(t2.crs_wkt.as_deref())
        );
    }
    classify(&mut [&mut t1, &mut t2], &params)?;
    let read_s = t0.elapsed().as_secs_f64();

    let t0 = Instant::now();
    let s1 = inputs::load_year(&cfg.t1, "t1", &params)?;
    let s2 = inputs::load_year(&cfg.t2, "t2", &params)?;
    for s in [&s1, &s2] {
        geos::check_raster_crs(t2.crs_wkt.as_deref(), &p2, &s.raster_paths)?;
    }
    let load_s = t0.elapsed().as_secs_f64();
    let ids = [
        t1.patches.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        t2.patches.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
    ];
    let options = AccountOptions {
        overlay: OverlayOptions {
            sliver_m2: cfg.sliver_m2,
            area_year: cfg.area_year,
        },
        area_u_pct: cfg.area_u_pct,
        mc: (cfg.mc_draws > 0).then_some(McOptions {
            draws: cfg.mc_draws,
            seed: cfg.mc_seed,
            lognormal_above_cv: if cfg.mc_lognormal_above_cv > 0.0 {
                cfg.mc_lognormal_above_cv
            } else {
                f64::INFINITY
            },
        }),
        esm: cfg.esm,
        county_names: cfg.county_names.clone(),
    };
    let mut acc = pipeline::account(
        AccountInputs {
            t1,
            t2,
            sources: [s1, s2],
            params,
            options,
        },
        &geos::GeosOps,
    )?;
    acc.timings.insert(0, ("load inputs".into(), load_s));
    acc.timings.insert(0, ("read patches".into(), read_s));

    // Outputs.
    let t0 = Instant::now();
    std::fs::create_dir_all(&out).map_err(|e| landcarbon::Error::io(&out, e))?;
    let f1 = tables::f1(&acc);
    let f2 = tables::f2(&acc);
    let f3 = tables::f3(&acc);
    f1.write_csv(&out.join("F1_units.csv"))?;
    f2.write_csv(&out.join("F2_county.csv"))?;
    f3.write_csv(&out.join("F3_transitions.csv"))?;
    tables::uncertainty_table(&acc).write_csv(&out.join("uncertainty.csv"))?;
    tables::issues_table(&acc, &ids[0], &ids[1]).write_csv(&out.join("issues.csv"))?;
    tables::checks_table(&acc).write_csv(&out.join("checks.csv"))?;
    for c in &acc.checks {
        log::warn!(
            "plausibility: unit {} ({}, {}): {} {:.2} {} above the bound {} ({})",
            c.unit,
            c.class,
            c.when,
            c.kind,
            c.value,
            c.units,
            c.bound,
            out.join("checks.csv").display()
        );
    }
    let geoms: Vec<_> = acc.units.iter().map(|u| u.geom.clone()).collect();
    gpkg_out::write_gpkg(
        &out.join("units.gpkg"),
        acc.crs_wkt.as_deref(),
        &[
            gpkg_out::LayerSpec {
                table: &f1,
                geoms: Some(&geoms),
            },
            gpkg_out::LayerSpec {
                table: &f2,
                geoms: None,
            },
            gpkg_out::LayerSpec {
                table: &f3,
                geoms: None,
            },
        ],
    )?;
    acc.timings
        .push(("tables+gpkg".into(), t0.elapsed().as_secs_f64()));
    let t0 = Instant::now();
    let crs_name = geos::describe(acc.crs_wkt.as_deref());
    report::write_report(
        &acc,
        &out,
        &crs_name,
        cfg.map_width_px,
        &toml::to_string(&cfg).unwrap_or_default(),
    )?;
    acc.timings
        .push(("report+maps".into(), t0.elapsed().as_secs_f64()));
    acc.timings
        .push(("total".into(), started.elapsed().as_secs_f64()));
    report::write_run_json(&acc, &out, &cfg)?;

    if !c.quiet {
        print_summary(&acc, &out);
    }
    Ok(Outcome::Complete)
}

fn print_summary(acc: &pipeline::Accounting, out: &std::path::Path) {
    println!(
        "{} → {}: {} + {} patches → {} units ({} slivers dropped, {} repaired polygons, {} coverage issues)",
        acc.years[0],
        acc.years[1],
        acc.patch_counts[0],
        acc.patch_counts[1],
        acc.units.len(),
        acc.slivers.len(),
        acc.repairs.len(),
        acc.coverage.len()
    );
    println!(
        "{:<8} {:>10} {:>14} {:>14} {:>9} {:>9} {:>14} {:>8} {:>8}",
        "county",
        "area_ha",
        "stock_t1_tC",
        "stock_t2_tC",
        "d1_tC_ha",
        "d2_tC_ha",
        "sink_tCO2_yr",
        "U_a1_%",
        "U_mc_%"
    );
    let names: Vec<&landcarbon::accounting::aggregate::AggRow> = acc
        .counties
        .iter()
        .chain(std::iter::once(&acc.region))
        .collect();
    for (i, r) in names.iter().enumerate() {
        let a = &acc.a1[i];
        let mc = acc.mc.as_ref().and_then(|m| {
            if i < m.groups.len() {
                m.groups[i][2].u_pct()
            } else {
                m.region[2].u_pct()
            }
        });
        let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1}"));
        println!(
            "{:<8} {:>10.2} {:>14.2} {:>14.2} {:>9.2} {:>9.2} {:>14.2} {:>8} {:>8}",
            r.county_code,
            r.area_ha,
            r.stock_total(0),
            r.stock_total(1),
            r.density(0),
            r.density(1),
            r.sink.tc_yr_total() * CO2_PER_C,
            f(a.u_sink_pct()),
            f(mc)
        );
    }
    let t: Vec<String> = acc
        .timings
        .iter()
        .map(|(k, v)| format!("{k} {v:.2} s"))
        .collect();
    println!("timing: {}", t.join(", "));
    println!("results in {}", out.display());
}
