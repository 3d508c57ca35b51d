//! Checks the whole configuration of `landcarbon run` (`plan`, `merge`) before a point is
//! read: every stage's ranges, the calibration's predictors against the columns the plot
//! metrics table will have, the surveys' plot and model files, the parameter file, and an
//! `[account]` section that could never run. Each stage also checks its own options when it
//! runs; this pass exists so that a typo fails in a second, not after the LiDAR stage of a
//! county (or not at all, as an `[account]` without patches was once skipped silently).

use crate::accounting::config::AccountConfig;
use crate::algo::metrics::METRIC_NAMES;
use crate::config::Config;
use crate::vector::Table;
use crate::{Error, Result};
use std::path::Path;

/// Every problem found, each naming its key; the error names the configuration file.
pub fn validate_run(cfg: &Config, path: &Path) -> Result<()> {
    let mut problems: Vec<String> = Vec::new();
    let mut check = |section: &str, r: Result<()>| {
        if let Err(e) = r {
            let msg = match e {
                Error::Config(m) => m,
                other => other.to_string(),
            };
            problems.push(format!("[{section}] {msg}"));
        }
    };
    let stages = &cfg.run.stages;
    check("chunk", chunk(cfg));
    if stages.ground {
        check("ground", cfg.ground.validate());
    }
    if stages.dtm {
        check("dtm", cfg.dtm.validate());
    }
    if stages.vegetation {
        check("vegetation", cfg.vegetation.validate());
    }
    if stages.chm {
        check("chm", cfg.chm.validate());
    }
    if stages.trees {
        check("trees", cfg.trees.validate());
    }
    if stages.metrics {
        check("metrics", metrics(cfg));
    }
    check("calibrate", calibrate(cfg));
    check(
        "carbon",
        crate::params::Params::load(cfg.carbon.params.as_deref()).map(|_| ()),
    );
    for (i, s) in cfg.run.surveys.iter().enumerate() {
        check(
            &format!("[run.surveys]] {} (year {})", i + 1, s.year),
            survey(s),
        );
    }
    check("account", account(&cfg.account));
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::Config(format!(
        "{}: {}",
        path.display(),
        problems.join("; ")
    )))
}

fn positive(key: &str, v: f64) -> Result<()> {
    if v > 0.0 && v.is_finite() {
        Ok(())
    } else {
        Err(Error::Config(format!("{key} = {v} must be positive")))
    }
}

fn chunk(cfg: &Config) -> Result<()> {
    let c = &cfg.chunk;
    for (key, v) in [("size_m", c.size_m), ("buffer_m", c.buffer_m)] {
        if !(v >= 0.0 && v.is_finite()) {
            return Err(Error::Config(format!("{key} = {v} must be >= 0")));
        }
    }
    Ok(())
}

fn metrics(cfg: &Config) -> Result<()> {
    positive("res_m", cfg.metrics.res_m)?;
    cfg.metrics.options().validate()
}

/// The predictors named in `[calibrate]` must be columns the calibration table will have:
/// a metric, `plot_area_m2`, or a column of a survey's plot file.
fn calibrate(cfg: &Config) -> Result<()> {
    let o = &cfg.calibrate;
    if o.max_predictors == 0 {
        return Err(Error::Config(
            "max_predictors = 0 must be at least 1".into(),
        ));
    }
    if !(o.alpha > 0.0 && o.alpha < 1.0) {
        return Err(Error::Config(format!(
            "alpha = {} must lie in (0, 1)",
            o.alpha
        )));
    }
    // A VIF is never below 1.
    if o.max_vif.is_nan() || o.max_vif < 1.0 {
        return Err(Error::Config(format!(
            "max_vif = {} must be at least 1",
            o.max_vif
        )));
    }
    if o.fixed && o.predictors.is_empty() {
        return Err(Error::Config("fixed = true needs predictors".into()));
    }
    let mut known: Vec<String> = METRIC_NAMES.iter().map(|s| s.to_string()).collect();
    known.push("plot_area_m2".into());
    for s in &cfg.run.surveys {
        if let Some(p) = &s.plots {
            // A missing or unreadable plot file is reported by the survey check.
            if let Ok(t) = Table::read(p) {
                known.extend(t.columns);
            }
        }
    }
    let unknown: Vec<&str> = o
        .predictors
        .iter()
        .flat_map(|s| s.split(','))
        .flat_map(|p| p.split(".."))
        .map(str::trim)
        .filter(|n| !n.is_empty() && !known.iter().any(|k| k == n))
        .collect();
    if !unknown.is_empty() {
        return Err(Error::Config(format!(
            "predictors: unknown column(s) {}: neither a metric name (see `landcarbon metrics --help`) nor a column of a survey's plot file",
            unknown.join(", ")
        )));
    }
    Ok(())
}

fn survey(s: &crate::pipeline::config::Survey) -> Result<()> {
    if s.inputs.is_empty() {
        return Err(Error::Config("inputs is empty".into()));
    }
    if let Some(m) = &s.model {
        if !m.is_file() {
            return Err(Error::Config(format!(
                "model = {}: no such file",
                m.display()
            )));
        }
    }
    if let Some(p) = &s.plots {
        let t = Table::read(p).map_err(|e| Error::Config(format!("plots: {e}")))?;
        if s.model.is_none() {
            if s.response.is_empty() {
                return Err(Error::Config(
                    "plots is set but response is not: name the field response column".into(),
                ));
            }
            if t.col(&s.response).is_none() {
                return Err(Error::Config(format!(
                    "response = \"{}\": {} has no such column (columns: {})",
                    s.response,
                    p.display(),
                    t.columns.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// An `[account]` section that differs from the defaults means the accounting is wanted: it
/// must name both patch layers, and its values must pass the accounting's own checks.
fn account(a: &AccountConfig) -> Result<()> {
    if *a == AccountConfig::default() {
        return Ok(());
    }
    let missing: Vec<&str> = [
        ("patches_t1", a.patches_t1.is_none()),
        ("patches_t2", a.patches_t2.is_none()),
    ]
    .into_iter()
    .filter(|(_, m)| *m)
    .map(|(k, _)| k)
    .collect();
    if !missing.is_empty() {
        return Err(Error::Config(format!(
            "the section is present but {} not set: the accounting cannot run (remove [account] to run without it)",
            missing.join(" and ")
        )));
    }
    let files = [
        ("patches_t1", a.patches_t1.as_ref()),
        ("patches_t2", a.patches_t2.as_ref()),
        ("t1.plots", a.t1.plots.as_ref()),
        ("t2.plots", a.t2.plots.as_ref()),
        ("t1.soil", a.t1.soil.as_ref()),
        ("t2.soil", a.t2.soil.as_ref()),
        ("params", a.params.as_ref()),
    ];
    for (key, p) in files {
        if let Some(p) = p.filter(|p| !p.exists()) {
            return Err(Error::Config(format!(
                "{key} = {}: no such file",
                p.display()
            )));
        }
    }
    a.clone().validate()
}
