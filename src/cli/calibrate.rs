//! `landcarbon calibrate`: fit a plot-level biomass model from a plot table with metric
//! columns (from `landcarbon metrics --plots`, or any table with metrics already present) and
//! a field response; writes the model JSON, a summary `.txt` and diagnostic PNGs beside it.

use super::common::{load_config, Common, Outcome};
use super::metrics::run_record_path;
use landcarbon::biomass::calibrate::{calibrate_table, Criterion};
use landcarbon::biomass::figures::write_figures;
use landcarbon::biomass::model::{Correction, ModelForm};
use landcarbon::biomass::plot_agb::{kg_to_t_ha, plot_agb_kg, TreeColumns};
use landcarbon::params::Params;
use landcarbon::vector::table::fmt_num;
use landcarbon::vector::Table;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Plot table (CSV, GeoPackage, Shapefile) with metric columns and the response.
    #[arg(long)]
    pub plots: PathBuf,
    /// Response column (field AGB in t/ha, or any plot variable).
    #[arg(long)]
    pub response: Option<String>,
    /// Model form: loglog, power, linear.
    #[arg(long = "model")]
    pub form: Option<ModelForm>,
    /// One model per value of this column.
    #[arg(long)]
    pub strata: Option<String>,
    /// Plot id column.
    #[arg(long)]
    pub id_col: Option<String>,
    /// Predictor columns, comma separated; `a..b` takes every column from a to b.
    #[arg(long, value_delimiter = ',')]
    pub predictors: Vec<String>,
    /// Columns never used as predictors (patterns with * and ?).
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Use --predictors as given, without selection.
    #[arg(long)]
    pub fixed: bool,
    /// Most predictors in a selected model.
    #[arg(long)]
    pub max_predictors: Option<usize>,
    /// Ranking of subsets: adj_r2 or bic.
    #[arg(long)]
    pub criterion: Option<Criterion>,
    /// Log-model back-transformation: baskerville, duan, none.
    #[arg(long)]
    pub correction: Option<Correction>,
    /// Largest accepted VIF (exclusive).
    #[arg(long)]
    pub max_vif: Option<f64>,
    /// Significance level of every slope.
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Tree list (plot id, dbh_cm, height_m[, group]) to compute the response as plot AGB
    /// (t/ha) with the allometry of the parameter file; needs plot_area_m2 in the table.
    #[arg(long)]
    pub trees: Option<PathBuf>,
    /// Parameter file for the allometry of --trees.
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Output model JSON (overwritten if it exists; never one of the inputs).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Skip the PNG figures.
    #[arg(long)]
    pub no_figures: bool,
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    let cfg = load_config(c, None)?;
    let rec_path = run_record_path(&a.plots);
    let mut o = cfg.calibrate.clone();
    if let Some(v) = &a.response {
        o.response = v.clone();
    }
    if let Some(v) = a.form {
        o.form = v;
    }
    if let Some(v) = &a.strata {
        o.strata = Some(v.clone());
    }
    if let Some(v) = &a.id_col {
        o.id_col = Some(v.clone());
    }
    if !a.predictors.is_empty() {
        o.predictors = a.predictors.clone();
    }
    if !a.exclude.is_empty() {
        o.exclude = a.exclude.clone();
    }
    if a.fixed {
        o.fixed = true;
    }
    if let Some(v) = a.max_predictors {
        o.max_predictors = v;
    }
    if let Some(v) = a.criterion {
        o.criterion = v;
    }
    if let Some(v) = a.correction {
        o.correction = v;
    }
    if let Some(v) = a.max_vif {
        o.max_vif = v;
    }
    if let Some(v) = a.alpha {
        o.alpha = v;
    }
    if o.fixed && o.predictors.is_empty() {
        anyhow::bail!("--fixed needs --predictors");
    }
    let inputs = [
        Some(("--plots", a.plots.as_path())),
        a.trees.as_deref().map(|p| ("--trees", p)),
        a.params.as_deref().map(|p| ("--params", p)),
        c.config.as_deref().map(|p| ("--config", p)),
        Some(("the plots' run record", rec_path.as_path())),
    ];
    // The summary `.txt` beside the model is an output too.
    for out in [a.output.clone(), a.output.with_extension("txt")] {
        super::common::refuse_input_overwrite(&out, inputs.iter().flatten().copied())?;
    }
    let mut table = Table::read(&a.plots)?;
    if let Some(trees_path) = &a.trees {
        add_tree_agb(&mut table, trees_path, a, &o)?;
    }
    let mut model = calibrate_table(&table, &o, &a.plots.display().to_string())?;
    // Metric options of the plot metrics, from their run record when there is one.
    if let Ok(text) = std::fs::read_to_string(&rec_path) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) {
            model.metric_options = v.get("metric_options").cloned();
        }
    }
    model.write(&a.output)?;
    let summary = model.summary();
    let txt = a.output.with_extension("txt");
    std::fs::write(&txt, &summary).map_err(|e| landcarbon::Error::io(&txt, e))?;
    let mut figures = Vec::new();
    if !a.no_figures {
        for m in &model.models {
            // A figure that cannot be drawn is no reason to lose the model.
            match write_figures(m, &a.output) {
                Ok(f) => figures.extend(f),
                Err(e) => log::warn!("figures not written: {e}"),
            }
        }
    }
    if !c.quiet {
        println!("{summary}");
        eprintln!(
            "wrote {}, {}{}",
            a.output.display(),
            txt.display(),
            figures
                .iter()
                .map(|f| format!(", {}", f.display()))
                .collect::<String>()
        );
    }
    Ok(Outcome::Complete)
}

/// Adds the response column computed from a tree list.
fn add_tree_agb(
    table: &mut Table,
    trees_path: &std::path::Path,
    a: &Args,
    o: &landcarbon::biomass::calibrate::CalibrateOptions,
) -> anyhow::Result<()> {
    let params = Params::load(a.params.as_deref())?;
    let trees = Table::read(trees_path)?;
    let id_name = o
        .id_col
        .clone()
        .or_else(|| {
            ["plot_id", "id"]
                .iter()
                .find(|n| table.col(n).is_some())
                .map(|s| s.to_string())
        })
        .ok_or_else(|| anyhow::anyhow!("the plot table has no plot id column"))?;
    let cols = TreeColumns {
        plot: id_name.clone(),
        ..Default::default()
    };
    let agb = plot_agb_kg(&trees, &cols, &params.allometry)?;
    let idc = table.require(&id_name, "plot table")?;
    let ac = table.require("plot_area_m2", "plot table (needed with --trees)")?;
    let areas = table.numeric(ac, "plot table")?;
    if table.col(&o.response).is_some() {
        anyhow::bail!(
            "the plot table already has a '{}' column; --trees would overwrite it",
            o.response
        );
    }
    table.columns.push(o.response.clone());
    for (r, area_r) in areas.iter().enumerate() {
        let id = table.cell(r, idc).to_string();
        let v = match (agb.get(&id), *area_r) {
            (Some((kg, _)), Some(area)) if area > 0.0 => kg_to_t_ha(*kg, area),
            // A plot with no tree in the list holds no tree above the inventory threshold.
            (None, Some(area)) if area > 0.0 => 0.0,
            _ => f64::NAN,
        };
        let row = &mut table.rows[r];
        row.resize(table.columns.len() - 1, String::new());
        row.push(fmt_num(v));
    }
    Ok(())
}
