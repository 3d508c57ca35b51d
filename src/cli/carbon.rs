//! `landcarbon carbon`: apply a calibrated model to grid metrics → AGB (t/ha) with standard
//! errors and an extrapolation flag, then carbon density per pool (t C/ha): AGC, BGC, dead
//! wood and litter (when the parameters estimate them) and the total. Writes one GeoTIFF per
//! layer into the output folder and `run.json` with every parameter value and its provenance.

use super::common::{load_config, Common, Outcome};
use super::metrics::run_record_path;
use landcarbon::biomass::model::ModelFile;
use landcarbon::biomass::predict::{carbon_density, predict_agb};
use landcarbon::params::{LandClass, Params};
use landcarbon::raster::{band_names, raster_crs, read_geotiff, write_geotiff, Raster};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Grid metrics GeoTIFF from `landcarbon metrics --grid`.
    #[arg(long)]
    pub metrics: PathBuf,
    /// Model JSON from `landcarbon calibrate`.
    #[arg(long)]
    pub model: PathBuf,
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
        Some(("--metrics", a.metrics.as_path())),
        Some(("--model", a.model.as_path())),
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
    let model = ModelFile::read(&a.model)?;
    // Metric options of the grid should match those of the calibration plots.
    if let (Some(plot_opts), Ok(text)) = (
        &model.metric_options,
        std::fs::read_to_string(run_record_path(&a.metrics)),
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
    let names = band_names(&a.metrics)?;
    let mut bands: BTreeMap<String, Raster<f64>> = BTreeMap::new();
    for p in model.all_predictors() {
        let Some(i) = names.iter().position(|n| *n == p) else {
            anyhow::bail!(
                "{} has no band '{p}' (bands: {})",
                a.metrics.display(),
                names.join(", ")
            );
        };
        let mut r = read_geotiff(&a.metrics, i + 1)?;
        let nd = r.nodata;
        r.data.mapv_inplace(|v| {
            if v == nd || !v.is_finite() {
                f64::NAN
            } else {
                v
            }
        });
        r.nodata = f64::NAN;
        bands.insert(p, r);
    }
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
    let carbon = carbon_density(&agb, &params, &cc.options())?;
    let crs = raster_crs(&a.metrics)?;
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
        "metrics": a.metrics.display().to_string(),
        "model": a.model.display().to_string(),
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
        landcarbon::pipeline::reduce::carbon_metadata(&model, &params, &cc.options(), &carbon);
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
