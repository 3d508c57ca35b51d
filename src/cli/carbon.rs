//! `landcarbon carbon`: apply a calibrated model to grid metrics → AGB (t/ha) with standard
//! errors and an extrapolation flag, then carbon density per pool (t C/ha): AGC, BGC, dead
//! wood and litter (when the parameters estimate them) and the total. Writes one GeoTIFF per
//! layer into the output folder and `run.json` with every parameter value and its provenance.

use super::common::{load_config, Common, Outcome};
use super::metrics::run_record_path;
use landcarbon::biomass::model::ModelFile;
use landcarbon::biomass::predict::{carbon_density, predict_agb, AgbGrid};
use landcarbon::params::{LandClass, Params};
use landcarbon::raster::{raster_crs, read_geotiff, write_geotiff};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Grid metrics GeoTIFF from `landcarbon metrics --grid` (area-based route).
    #[arg(long, required_unless_present = "trees")]
    pub metrics: Option<PathBuf>,
    /// Model JSON from `landcarbon calibrate` (area-based route).
    #[arg(long, required_unless_present = "trees", conflicts_with = "trees")]
    pub model: Option<PathBuf>,
    /// Individual-tree route: tree table (CSV or GeoPackage of `landcarbon trees`) whose AGB,
    /// summed per cell, is calibrated against --plots by a ratio per stratum.
    #[arg(long)]
    pub trees: Option<PathBuf>,
    /// ITD: field plots (CSV of centres or a vector layer) with the field AGB in t/ha.
    #[arg(long, requires = "trees")]
    pub plots: Option<PathBuf>,
    /// ITD: column of --plots holding the field AGB (t/ha).
    #[arg(long, default_value = "agb_t_ha")]
    pub response: String,
    /// ITD: column of --plots naming each plot's stratum (one ratio per stratum; cells take
    /// theirs from --strata-raster).
    #[arg(long, requires = "trees")]
    pub strata: Option<String>,
    /// ITD: plot id column (default plot_id, else id).
    #[arg(long, requires = "trees")]
    pub id_col: Option<String>,
    /// ITD: radius (m) of circular plots without a radius column.
    #[arg(long, requires = "trees")]
    pub radius: Option<f64>,
    /// ITD: raster whose grid the densities take, its nodata cells outside coverage (e.g. the
    /// grid metrics of the same tiles; default: --metrics).
    #[arg(long, requires = "trees")]
    pub grid_raster: Option<PathBuf>,
    /// ITD: allometry group for trees without agb_kg (default: the parameters' default group).
    #[arg(long, requires = "trees")]
    pub allometry: Option<String>,
    /// Parameter file (TOML) overriding the embedded defaults.
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Stratum raster on the metric grid (needed by per-stratum models); its cell values are
    /// matched to the models' stratum names as integers (value 2 → stratum "2").
    #[arg(long)]
    pub strata_raster: Option<PathBuf>,
    /// Accounting class whose dead-wood and litter defaults apply.
    #[arg(long)]
    pub class: Option<String>,
    /// Root-to-shoot zone of the parameter table.
    #[arg(long)]
    pub zone: Option<String>,
    /// Output folder (its files are overwritten; never one holding an input under an output's name).
    #[arg(short, long)]
    pub output: PathBuf,
}

fn parse_class(s: &str) -> anyhow::Result<LandClass> {
    LandClass::ALL
        .into_iter()
        .find(|c| c.name() == s)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "unknown class '{s}' ({})",
                LandClass::ALL.map(|c| c.name()).join(", ")
            )
        })
}

/// Names of the files `carbon` writes into its output folder.
const OUTPUT_NAMES: &[&str] = &[
    "agb_t_ha.tif",
    "agb_se_t_ha.tif",
    "agb_se_model_t_ha.tif",
    "agc_tc_ha.tif",
    "bgc_tc_ha.tif",
    "dw_tc_ha.tif",
    "lt_tc_ha.tif",
    "total_tc_ha.tif",
    "total_se_tc_ha.tif",
    "flag.tif",
    "model.json",
    "run.json",
];

/// Refuses an output folder that would overwrite an input (`calibrate -o out/model.json`
/// then `carbon --model out/model.json -o out` would replace the model by its metadata).
fn refuse_overwrite(c: &Common, a: &Args, params: Option<&std::path::Path>) -> anyhow::Result<()> {
    let inputs = [
        a.metrics.as_deref().map(|p| ("--metrics", p)),
        a.model.as_deref().map(|p| ("--model", p)),
        a.trees.as_deref().map(|p| ("--trees", p)),
        a.plots.as_deref().map(|p| ("--plots", p)),
        a.grid_raster.as_deref().map(|p| ("--grid-raster", p)),
        params.map(|p| ("--params", p)),
        a.strata_raster.as_deref().map(|p| ("--strata-raster", p)),
        c.config.as_deref().map(|p| ("--config", p)),
    ];
    if let Some((flag, p)) = inputs
        .iter()
        .flatten()
        .find(|(_, p)| super::common::same_file(p, &a.output))
    {
        anyhow::bail!(
            "the output folder {} is the input {flag} {}; choose another output",
            a.output.display(),
            p.display()
        );
    }
    for name in OUTPUT_NAMES {
        super::common::refuse_input_overwrite(
            &a.output.join(name),
            inputs.iter().flatten().copied(),
        )?;
    }
    Ok(())
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    let t0 = Instant::now();
    let cfg = load_config(c, None)?;
    let mut cc = cfg.carbon.clone();
    if let Some(p) = &a.params {
        cc.params = Some(p.clone());
    }
    if let Some(s) = &a.class {
        cc.class = parse_class(s)?;
    }
    if let Some(z) = &a.zone {
        cc.zone = Some(z.clone());
    }
    refuse_overwrite(c, a, cc.params.as_deref())?;
    let params = Params::load(cc.params.as_deref())?;
    let (agb, model_base, itd_record, crs_source) = match &a.trees {
        Some(trees) => {
            let r = super::carbon_itd::run(a, trees, &params)?;
            let src = a
                .grid_raster
                .clone()
                .or(a.metrics.clone())
                .unwrap_or_default();
            (r.agb, r.model, Some(r.record), src)
        }
        None => {
            let (Some(metrics), Some(model)) = (&a.metrics, &a.model) else {
                anyhow::bail!("carbon needs --metrics and --model, or --trees and --plots");
            };
            let (agb, m) = area_based(a, metrics, model)?;
            (agb, m, None, metrics.clone())
        }
    };
    let carbon = carbon_density(&agb, &params, &cc.options())?;
    let crs = raster_crs(&crs_source)?;
    std::fs::create_dir_all(&a.output).map_err(|e| landcarbon::Error::io(&a.output, e))?;
    let nd = cc.nodata as f32;
    let mut written = Vec::new();
    let mut put = |name: &str, values: &[f64]| -> anyhow::Result<()> {
        let p = a.output.join(format!("{name}.tif"));
        write_geotiff(&agb.raster(values, nd), &crs, &p)?;
        written.push(p.display().to_string());
        Ok(())
    };
    put("agb_t_ha", &agb.agb_t_ha)?;
    put("agb_se_t_ha", &agb.se_t_ha)?;
    put("agb_se_model_t_ha", &agb.se_model_t_ha)?;
    put("agc_tc_ha", &carbon.agc)?;
    put("bgc_tc_ha", &carbon.bgc)?;
    if let Some(v) = &carbon.dw {
        put("dw_tc_ha", v)?;
    }
    if let Some(v) = &carbon.lt {
        put("lt_tc_ha", v)?;
    }
    put("total_tc_ha", &carbon.total)?;
    put("total_se_tc_ha", &carbon.total_se)?;
    let fp = a.output.join("flag.tif");
    write_geotiff(&agb.flag_raster(), &crs, &fp)?;
    written.push(fp.display().to_string());
    let summary = agb.summary();
    let mean = |v: &[f64]| {
        let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        if f.is_empty() {
            f64::NAN
        } else {
            f.iter().sum::<f64>() / f.len() as f64
        }
    };
    let cell_ha = agb.grid.res_m * agb.grid.res_m / 10_000.0;
    let total_tc: f64 = carbon.total.iter().filter(|v| v.is_finite()).sum::<f64>() * cell_ha;
    let record = serde_json::json!({
        "command": "carbon",
        "software": format!("landcarbon {}", env!("CARGO_PKG_VERSION")),
        "metrics": a.metrics.as_ref().map(|p| p.display().to_string()),
        "model": a.model.as_ref().map(|p| p.display().to_string()),
        "itd": itd_record,
        "strata_raster": a.strata_raster.as_ref().map(|p| p.display().to_string()),
        "params_file": cc.params.as_ref().map(|p| p.display().to_string()),
        "class": cc.class.name(),
        "parameters": carbon.parameters.iter().map(|(k, (v, src))| (k.clone(), serde_json::json!({"value": v, "source": src}))).collect::<serde_json::Map<_, _>>(),
        "dead_wood": if carbon.dw.is_some() { "estimated from class default" } else { "not estimated (NE)" },
        "litter": if carbon.lt.is_some() { "estimated from class default" } else { "not estimated (NE)" },
        "flags": {"1": "predictor outside calibration range", "2": "no model for the stratum", "4": "predictor nodata", "8": "no prediction defined", "16": "negative prediction set to 0"},
        "summary": summary,
        "mean_tc_ha": {
            "agc": mean(&carbon.agc), "bgc": mean(&carbon.bgc),
            "dw": carbon.dw.as_ref().map(|v| mean(v)), "lt": carbon.lt.as_ref().map(|v| mean(v)),
            "total": mean(&carbon.total),
        },
        "total_stock_tc": total_tc,
        "se_note": "SE rasters carry the model's prediction uncertainty only (delta method for log models); CF, R and class defaults are not included",
        "outputs": written,
        "seconds": t0.elapsed().as_secs_f64(),
    });
    let mp = a.output.join("model.json");
    let meta =
        landcarbon::pipeline::reduce::with_carbon_keys(model_base, &params, &cc.options(), &carbon);
    std::fs::write(&mp, serde_json::to_string_pretty(&meta)?)
        .map_err(|e| landcarbon::Error::io(&mp, e))?;
    written.push(mp.display().to_string());
    let rp = a.output.join("run.json");
    std::fs::write(&rp, serde_json::to_string_pretty(&record)?)
        .map_err(|e| landcarbon::Error::io(&rp, e))?;
    if !c.quiet {
        eprintln!(
            "{} cells predicted of {} ({} outside the calibration range, {} without data); mean AGB {:.1} t/ha, mean total {:.1} t C/ha -> {}",
            summary.predicted,
            summary.cells,
            summary.outside_range,
            summary.no_data,
            summary.mean_agb_t_ha,
            mean(&carbon.total),
            a.output.display()
        );
    }
    Ok(if summary.predicted == 0 {
        Outcome::Partial
    } else {
        Outcome::Complete
    })
}

/// The area-based route: the calibrated model applied to the grid metrics.
fn area_based(
    a: &Args,
    metrics: &std::path::Path,
    model_path: &std::path::Path,
) -> anyhow::Result<(AgbGrid, serde_json::Value)> {
    let model = ModelFile::read(model_path)?;
    // Metric options of the grid should match those of the calibration plots.
    if let (Some(plot_opts), Ok(text)) = (
        &model.metric_options,
        std::fs::read_to_string(run_record_path(metrics)),
    ) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
            if let Some(grid_opts) = v.get("metric_options") {
                if grid_opts != plot_opts {
                    log::warn!(
                        "the grid metrics were computed with other options than the calibration plots ({grid_opts} vs {plot_opts}): predictions may be biased"
                    );
                }
            }
        }
    }
    let bands = landcarbon::biomass::predict::predictor_bands(metrics, &model)?;
    let strata = match &a.strata_raster {
        Some(p) => {
            let mut r = read_geotiff(p, 1)?;
            let nd = r.nodata;
            r.data.mapv_inplace(|v| if v == nd { f64::NAN } else { v });
            Some(r)
        }
        None => None,
    };
    let agb = predict_agb(&model, &bands, strata.as_ref())?;
    Ok((agb, landcarbon::pipeline::reduce::model_metadata(&model)))
}
