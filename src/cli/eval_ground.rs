//! `landcarbon eval ground`: Type I / Type II / total error and Cohen's kappa of a ground
//! classification against a labelled copy of the same points (Sithole & Vosselman 2004).

use super::common::{Common, Outcome};
use landcarbon::algo::ground::eval::{Confusion, GroundScores};
use landcarbon::points;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// LAS/LAZ file with the reference classes.
    #[arg(long)]
    pub reference: PathBuf,
    /// LAS/LAZ file with the classification to evaluate (same points, same order).
    #[arg(long)]
    pub classified: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Largest x/y difference (CRS units) at which two points still count as the same point.
    #[arg(long, default_value_t = 0.01)]
    pub xy_tolerance: f64,
}

pub fn run(_c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    let (r, k) = rayon::join(
        || points::read(&a.reference),
        || points::read(&a.classified),
    );
    let (r, k) = (r?, k?);
    if r.len() != k.len() {
        anyhow::bail!(
            "{} holds {} points but {} holds {}: evaluation needs the same points in the same order",
            a.reference.display(),
            r.len(),
            a.classified.display(),
            k.len()
        );
    }
    if let Some(i) = (0..r.len()).find(|&i| {
        !((r.x[i] - k.x[i]).abs() <= a.xy_tolerance && (r.y[i] - k.y[i]).abs() <= a.xy_tolerance)
    }) {
        anyhow::bail!(
            "point {i} lies at ({}, {}) in {} but at ({}, {}) in {}: the files do not hold the same points in the same order",
            r.x[i],
            r.y[i],
            a.reference.display(),
            k.x[i],
            k.y[i],
            a.classified.display()
        );
    }
    let s = GroundScores::from(Confusion::from_classes(
        &r.classification,
        &k.classification,
    )?);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        let c = s.confusion;
        println!("points        {}", s.n_points);
        println!(
            "reference     ground {:>9}   object {:>9}",
            c.ground_ground + c.ground_object,
            c.object_ground + c.object_object
        );
        println!(
            "classified    ground {:>9}   object {:>9}",
            c.ground_ground + c.object_ground,
            c.ground_object + c.object_object
        );
        println!(
            "type I        {:.2} %  ({} ground points rejected)",
            100.0 * s.type1,
            c.ground_object
        );
        println!(
            "type II       {:.2} %  ({} object points accepted)",
            100.0 * s.type2,
            c.object_ground
        );
        println!("total error   {:.2} %", 100.0 * s.total);
        println!("kappa         {:.2} %", 100.0 * s.kappa);
    }
    Ok(Outcome::Complete)
}
