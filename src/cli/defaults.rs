//! Shows every flag's default in `--help`. Most flags are `Option`s laid over the configuration
//! (a flag overrides its key, an absent flag keeps the file's value), so clap's own
//! `default_value` would override the file; instead the default is read from
//! `Config::default()` and appended to the flag's help as `[default: …]`, so the help can never
//! disagree with the code. `tests/help_defaults.rs` checks that every option shows one.

use clap::Command;
use landcarbon::config::Config;

/// `(subcommand, flag id, default)`: the default is a config key (`chm.res_m`), or, after
/// `=`, a literal for flags whose default depends on another flag. `*` = every subcommand.
const DEFAULTS: &[(&str, &str, &str)] = &[
    ("*", "threads", "threads"),
    ("*", "chunk_size", "chunk.size_m"),
    ("*", "buffer", "chunk.buffer_m"),
    ("*", "max_chunk_points", "chunk.max_points"),
    ("*", "heights", "heights.source"),
    // chm
    ("chm", "method", "chm.method"),
    ("chm", "res", "chm.res_m"),
    ("chm", "subcircle", "chm.subcircle_m"),
    ("chm", "thresholds", "chm.thresholds_m"),
    ("chm", "max_edge", "chm.max_edge_m"),
    ("chm", "smooth", "chm.smooth"),
    ("chm", "sigma", "chm.sigma_m"),
    // trees (its CHM is [trees.chm])
    ("trees", "method", "trees.chm.method"),
    ("trees", "res", "trees.chm.res_m"),
    ("trees", "subcircle", "trees.chm.subcircle_m"),
    ("trees", "thresholds", "trees.chm.thresholds_m"),
    ("trees", "max_edge", "trees.chm.max_edge_m"),
    ("trees", "smooth", "trees.chm.smooth"),
    ("trees", "sigma", "trees.chm.sigma_m"),
    ("trees", "detect_on", "trees.detect_on"),
    ("trees", "segment", "trees.segment"),
    ("trees", "window", "trees.lmf.window"),
    ("trees", "ws", "trees.lmf.ws_m"),
    ("trees", "ws_linear", "trees.lmf.linear"),
    ("trees", "ws_min", "trees.lmf.ws_min_m"),
    ("trees", "ws_max", "trees.lmf.ws_max_m"),
    ("trees", "hmin", "trees.lmf.hmin_m"),
    ("trees", "saddle_depth", "trees.saddle.min_depth_frac"),
    ("trees", "smooth_frac", "trees.detect_smooth_frac"),
    ("trees", "th_tree", "trees.th_tree_m"),
    ("trees", "th_seed", "trees.dalponte.th_seed"),
    ("trees", "th_cr", "trees.dalponte.th_cr"),
    ("trees", "max_cr", "trees.dalponte.max_cr_px"),
    // dtm and normalize
    ("dtm", "res", "dtm.res_m"),
    ("dtm", "method", "dtm.method"),
    ("dtm", "ground_classes", "dtm.ground_classes"),
    ("normalize", "method", "normalize.method"),
    ("normalize", "ground_classes", "normalize.ground_classes"),
    ("normalize", "format", "normalize.format"),
    ("*", "k", "=3 (tin extrapolation), 10 (idw)"),
    ("*", "power", "=1 (tin extrapolation), 2 (idw)"),
    ("*", "rmax", "=50"),
    // ground (the automatic mode's SMRF-style parameters; CSF's are in [ground.method.csf])
    ("ground", "method", "=auto"),
    ("ground", "noise", "ground.noise.method"),
    ("ground", "cell", "ground.method.auto.cell_m"),
    ("ground", "slope", "ground.method.auto.slope"),
    ("ground", "window", "ground.method.auto.window_m"),
    ("ground", "threshold", "ground.method.auto.threshold_m"),
    ("ground", "scalar", "ground.method.auto.scalar"),
    ("ground", "slope_gain", "ground.method.auto.slope_gain"),
    ("ground", "smooth", "ground.method.auto.smooth_m"),
    ("ground", "raised", "ground.method.auto.raised_m"),
    (
        "ground",
        "spacing_exponent",
        "ground.method.auto.spacing_exponent",
    ),
    ("ground", "cut", "_smrf.cut_m"),
    ("ground", "cloth_resolution", "_csf.cloth_resolution_m"),
    ("ground", "rigidness", "_csf.rigidness"),
    ("ground", "time_step", "_csf.time_step"),
    ("ground", "iterations", "_csf.iterations"),
    ("ground", "class_threshold", "_csf.class_threshold_m"),
    ("ground", "slope_smooth", "_csf.slope_smooth"),
    // carbon
    ("carbon", "class", "carbon.class"),
    (
        "carbon",
        "zone",
        "=the parameter file's root_shoot.default_zone",
    ),
    // classify-veg
    ("classify-veg", "low", "vegetation.low_max_m"),
    ("classify-veg", "medium", "vegetation.medium_max_m"),
    ("classify-veg", "reclassify", "vegetation.reclassify"),
    // metrics
    ("metrics", "grid", "metrics.res_m"),
    ("metrics", "height", "metrics.height"),
    ("metrics", "height_break", "metrics.height_break_m"),
    ("metrics", "returns", "metrics.returns"),
    ("metrics", "min_height", "=none"),
    // eval trees
    ("trees-eval", "max_distance", "eval_trees.max_distance_m"),
    (
        "trees-eval",
        "max_height_diff",
        "eval_trees.max_height_diff",
    ),
    ("trees-eval", "assignment", "eval_trees.assignment"),
    ("trees-eval", "plot", "eval_trees.plot"),
    ("trees-eval", "plot_buffer", "eval_trees.plot_buffer_m"),
    (
        "trees-eval",
        "plot_polygon",
        "=none: the plot named by --plot",
    ),
    (
        "trees-eval",
        "top_height_fraction",
        "eval_trees.top_height_fraction",
    ),
    ("trees-eval", "min_height", "eval_trees.min_height_m"),
    // calibrate
    ("calibrate", "response", "calibrate.response"),
    ("calibrate", "form", "calibrate.form"),
    ("calibrate", "max_predictors", "calibrate.max_predictors"),
    ("calibrate", "criterion", "calibrate.criterion"),
    ("calibrate", "correction", "calibrate.correction"),
    ("calibrate", "max_vif", "calibrate.max_vif"),
    ("calibrate", "alpha", "calibrate.alpha"),
    // account
    ("account", "sliver_m2", "account.sliver_m2"),
    ("account", "area_year", "account.area_year"),
    ("account", "area_u_pct", "account.area_u_pct"),
    ("account", "mc_draws", "account.mc_draws"),
    ("account", "mc_seed", "account.mc_seed"),
    ("account", "field_id", "account.fields.id"),
    ("account", "field_class", "account.fields.class"),
    ("account", "field_county", "account.fields.county"),
    ("account", "field_location", "account.fields.location"),
    ("account", "field_area", "account.fields.area"),
    ("account", "area_unit", "account.fields.area_unit"),
    ("account", "field_stratum", "account.fields.stratum"),
    // eval trees: the first matching column
    ("trees-eval", "x_col", "=x, x_*, easting"),
    ("trees-eval", "y_col", "=y, y_*, northing"),
    ("trees-eval", "height_col", "=height_m, height, h, ht"),
    ("trees-eval", "dbh_col", "=dbh_cm, dbh, d"),
];

/// A config value as a user types it on the command line (`0.5`, `p2r`, `0,2,5`).
fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(a) => a.iter().map(show).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn lookup(cfg: &toml::Value, key: &str) -> Option<String> {
    if let Some(lit) = key.strip_prefix('=') {
        return Some(lit.to_string());
    }
    let mut v = cfg;
    for part in key.split('.') {
        v = v.get(part)?;
    }
    Some(show(v))
}

fn annotate(cmd: Command, name: &str, cfg: &toml::Value) -> Command {
    let ids: Vec<String> = cmd
        .get_arguments()
        .filter(|a| a.get_default_values().is_empty())
        .map(|a| a.get_id().to_string())
        .collect();
    let mut cmd = cmd;
    for id in ids {
        let hit = DEFAULTS
            .iter()
            .find(|(c, i, _)| *c == name && *i == id)
            .or_else(|| DEFAULTS.iter().find(|(c, i, _)| *c == "*" && *i == id));
        let Some(value) = hit.and_then(|(_, _, key)| lookup(cfg, key)) else {
            continue;
        };
        cmd = cmd.mut_arg(id.as_str(), |a| {
            let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            let help = strip_old_default(&help);
            a.help(format!("{help} [default: {value}]"))
        });
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for s in subs {
        let key = if name == "eval" && s == "trees" {
            "trees-eval".to_string()
        } else {
            s.clone()
        };
        cmd = cmd.mut_subcommand(s.as_str(), |sc| annotate(sc, &key, cfg));
    }
    cmd
}

/// Drops a hand-written "[default …]" so the one from the code is the only one.
fn strip_old_default(help: &str) -> String {
    match help.find("[default ") {
        Some(i) => match help[i..].find(']') {
            Some(j) => format!("{}{}", &help[..i], &help[i + j + 1..])
                .trim_end()
                .trim_end_matches(['.', ','])
                .to_string(),
            None => help.to_string(),
        },
        None => help.to_string(),
    }
}

/// The clap command with every known default shown in the flags' help.
pub fn command(cmd: Command) -> Command {
    let mut cfg =
        toml::Value::try_from(Config::default()).unwrap_or(toml::Value::Table(Default::default()));
    // The CSF and SMRF defaults, used when `--method csf|smrf` picks them (`_csf.*`, `_smrf.*`).
    if let toml::Value::Table(t) = &mut cfg {
        use landcarbon::algo::ground::{Csf, Smrf};
        if let Ok(v) = toml::Value::try_from(Csf::default()) {
            t.insert("_csf".into(), v);
        }
        if let Ok(v) = toml::Value::try_from(Smrf::default()) {
            t.insert("_smrf".into(), v);
        }
    }
    annotate(cmd, "", &cfg)
}
