//! `landcarbon eval trees`: detected trees (our CSV or GeoPackage) against a field inventory
//! (CSV). Matching rule and scores: see `landcarbon::algo::trees::matching`.

use super::common::{extension, load_config, Common, Outcome};
use landcarbon::algo::trees::matching::{
    evaluate_plot_in, Assignment, MatchTree, PlotRule, Scores,
};
use landcarbon::vector::trees_csv::{read_match_trees_csv, TreeColumns};
use landcarbon::vector::trees_gpkg::read_tree_tops_gpkg;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Field inventory CSV (x, y, and optionally height and DBH columns).
    #[arg(long)]
    pub reference: PathBuf,
    /// Detected trees: .gpkg (tree_tops layer) or .csv.
    #[arg(long)]
    pub detected: PathBuf,
    /// Reference x column (default: x, x_*, easting).
    #[arg(long)]
    pub x_col: Option<String>,
    /// Reference y column (default: y, y_*, northing).
    #[arg(long)]
    pub y_col: Option<String>,
    /// Reference height column (default: height_m, height, h, ht).
    #[arg(long)]
    pub height_col: Option<String>,
    /// Reference DBH column (default: dbh_cm, dbh, d).
    #[arg(long)]
    pub dbh_col: Option<String>,
    /// Maximum horizontal distance of a match, metres [default 3].
    #[arg(long)]
    pub max_distance: Option<f64>,
    /// Maximum height difference of a match, fraction of the reference height [default 0.3].
    #[arg(long)]
    pub max_height_diff: Option<f64>,
    /// One-to-one assignment: greedy (nearest pair first) or optimal (most matches, then least
    /// total distance; Hungarian) [default greedy].
    #[arg(long)]
    pub assignment: Option<Assignment>,
    /// Plot boundary from the reference trees: hull, bbox or none [default hull].
    #[arg(long)]
    pub plot: Option<PlotRule>,
    /// Plot polygon replacing --plot: a CSV of its vertices in order (x, y columns) or a text
    /// file holding a WKT POLYGON (outer ring used); reference trees outside it are dropped.
    #[arg(long)]
    pub plot_polygon: Option<PathBuf>,
    /// Detections within this distance outside the plot boundary are in the plot, metres
    /// [default 1].
    #[arg(long)]
    pub plot_buffer: Option<f64>,
    /// Suppressed-layer cut as a fraction of the top height [default 0.5].
    #[arg(long)]
    pub top_height_fraction: Option<f64>,
    /// Absolute suppressed-layer cut in metres (replaces the top-height rule).
    #[arg(long)]
    pub min_height: Option<f64>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn read_detected(p: &Path) -> anyhow::Result<Vec<MatchTree>> {
    Ok(match extension(p).as_str() {
        "gpkg" => read_tree_tops_gpkg(p)?,
        "csv" => read_match_trees_csv(p, &TreeColumns::default())?,
        e => anyhow::bail!("--detected must be .gpkg or .csv, got .{e}"),
    })
}

/// Vertices of a plot polygon file: WKT `POLYGON ((x y, ...))` (outer ring) or a CSV with x and
/// y columns.
fn read_polygon(p: &Path) -> anyhow::Result<Vec<[f64; 2]>> {
    let text = std::fs::read_to_string(p)
        .map_err(|e| anyhow::anyhow!("{}: cannot read the plot polygon: {e}", p.display()))?;
    let t = text.trim_start();
    let mut v: Vec<[f64; 2]> = if t.to_ascii_uppercase().starts_with("POLYGON") {
        let open = t.find("((").map(|i| i + 2);
        let close = open.and_then(|o| t[o..].find(')').map(|c| o + c));
        let (Some(o), Some(c)) = (open, close) else {
            anyhow::bail!("{}: malformed WKT POLYGON", p.display());
        };
        t[o..c]
            .split(',')
            .map(|pair| {
                let xy: Vec<f64> = pair
                    .split_whitespace()
                    .map(|w| w.parse::<f64>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| {
                        anyhow::anyhow!("{}: bad WKT vertex '{pair}': {e}", p.display())
                    })?;
                anyhow::ensure!(
                    xy.len() >= 2,
                    "{}: WKT vertex '{pair}' has fewer than 2 coordinates",
                    p.display()
                );
                Ok([xy[0], xy[1]])
            })
            .collect::<anyhow::Result<_>>()?
    } else {
        read_match_trees_csv(p, &TreeColumns::default())?
            .iter()
            .map(|t| [t.x, t.y])
            .collect()
    };
    if v.len() > 1 && v.first() == v.last() {
        v.pop();
    }
    if v.len() < 3 || v.iter().any(|q| !(q[0].is_finite() && q[1].is_finite())) {
        anyhow::bail!(
            "{}: a plot polygon needs at least 3 finite vertices, got {}",
            p.display(),
            v.len()
        );
    }
    Ok(v)
}

fn fmt_opt(v: Option<f64>, d: usize) -> String {
    v.map(|v| format!("{v:.d$}"))
        .unwrap_or_else(|| "-".to_string())
}

fn row(name: &str, s: &Scores) -> String {
    format!(
        "{name:<22} {:>5} {:>5} {:>4} {:>4} {:>4} {:>7.3} {:>9.3} {:>6.3} {:>7} {:>7} {:>8}",
        s.n_reference,
        s.n_detected,
        s.true_positives,
        s.false_positives,
        s.false_negatives,
        s.recall,
        s.precision,
        s.f_score,
        fmt_opt(s.height_rmse_m, 2),
        fmt_opt(s.height_bias_m, 2),
        fmt_opt(s.dbh_rmse_cm, 1),
    )
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    let mut cfg = load_config(c, None)?;
    let p = &mut cfg.eval_trees;
    if let Some(v) = a.max_distance {
        p.max_distance_m = v;
    }
    if let Some(v) = a.max_height_diff {
        p.max_height_diff = v;
    }
    if let Some(v) = a.assignment {
        p.assignment = v;
    }
    if let Some(v) = a.plot {
        p.plot = v;
    }
    if let Some(v) = a.plot_buffer {
        p.plot_buffer_m = v;
    }
    if let Some(v) = a.top_height_fraction {
        p.top_height_fraction = v;
    }
    if let Some(v) = a.min_height {
        p.min_height_m = v;
    }
    p.validate()
        .map_err(|e| anyhow::anyhow!("eval trees: {e}"))?;
    let cols = TreeColumns {
        x: a.x_col.clone(),
        y: a.y_col.clone(),
        height: a.height_col.clone(),
        dbh: a.dbh_col.clone(),
    };
    let reference = read_match_trees_csv(&a.reference, &cols)?;
    if reference.is_empty() {
        anyhow::bail!("{}: no reference tree", a.reference.display());
    }
    let detected = read_detected(&a.detected)?;
    let polygon = match &a.plot_polygon {
        Some(f) => Some(read_polygon(f)?),
        None => None,
    };
    let e = evaluate_plot_in(&reference, &detected, p, polygon.as_deref());
    if a.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
        return Ok(Outcome::Complete);
    }
    println!(
        "matching: one-to-one, {}; candidates within {} m horizontally and |h_det - h_ref| <= {:.0} % of h_ref",
        match e.assignment {
            Assignment::Greedy => "greedy by distance (nearest pair first)",
            Assignment::Optimal => "optimal (most pairs, then least total distance; Hungarian)",
        },
        e.rule.max_distance_m,
        100.0 * e.rule.max_height_diff
    );
    let plot_name = match (&a.plot_polygon, p.plot) {
        (Some(f), _) => format!("polygon {}", f.display()),
        (None, PlotRule::Hull) => "convex hull of the reference trees".to_string(),
        (None, PlotRule::Bbox) => "bounding box of the reference trees".to_string(),
        (None, PlotRule::None) => "none (every detection counts)".to_string(),
    };
    println!(
        "plot: {plot_name}, {:.0} m2, buffer {} m; clipped before matching: {} of {} reference trees and {} of {} detections inside (TP + FP = detections inside)",
        e.plot_area_m2,
        e.plot_buffer_m,
        e.reference_in_plot,
        reference.len(),
        e.detected_in_plot,
        detected.len()
    );
    if p.min_height_m > 0.0 {
        println!("suppressed-layer cut: {:.2} m (given)", e.height_cut_m);
    } else {
        println!(
            "suppressed-layer cut: {:.2} m = {} x top height {} m (mean of the {:.0} tallest trees per ha)",
            e.height_cut_m,
            p.top_height_fraction,
            fmt_opt(e.top_height_m, 2),
            p.top_trees_per_ha
        );
    }
    println!(
        "height classes: a match by its reference's height, an unmatched detection by its own"
    );
    println!(
        "{:<22} {:>5} {:>5} {:>4} {:>4} {:>4} {:>7} {:>9} {:>6} {:>7} {:>7} {:>8}",
        "trees",
        "ref",
        "det",
        "TP",
        "FP",
        "FN",
        "recall",
        "precision",
        "F",
        "h_RMSE",
        "h_bias",
        "DBH_RMSE"
    );
    println!("{}", row("all", &e.all));
    println!(
        "{}",
        row(&format!("h >= {:.2} m", e.height_cut_m), &e.above_cut)
    );
    for c in &e.classes {
        let name = match c.upper_m {
            Some(u) => format!("h {:.1}-{:.1} m", c.lower_m, u),
            None => format!("h >= {:.1} m", c.lower_m),
        };
        println!("{}", row(&name, &c.scores));
    }
    Ok(Outcome::Complete)
}
