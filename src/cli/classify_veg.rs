//! `landcarbon classify-veg`: vegetation classes (3 low, 4 medium, 5 high) from height above
//! ground, over a catalog; writes each chunk's core points to an output folder (tile mode:
//! one file per input tile, same name; grid mode: `{XLEFT}_{YBOTTOM}.laz`).

use super::common::{
    load_config, open_catalog, progress, report_failures, CatalogArgs, Common, Outcome,
};
use super::heights::HeightArgs;
use landcarbon::algo::canopy::heights;
use landcarbon::algo::vegetation::{classify_vegetation, VegetationStats};
use landcarbon::points;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub catalog: CatalogArgs,
    #[command(flatten)]
    pub heights: HeightArgs,
    /// Upper bound of low vegetation (class 3), metres [default 0.5].
    #[arg(long)]
    pub low: Option<f64>,
    /// Upper bound of medium vegetation (class 4), metres [default 2].
    #[arg(long)]
    pub medium: Option<f64>,
    /// Classes that may be rewritten, comma-separated [default 0,1,3,4,5].
    #[arg(long, value_delimiter = ',')]
    pub reclassify: Option<Vec<u8>>,
    /// Output folder.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Output format: laz or las.
    #[arg(long, default_value = "laz")]
    pub format: String,
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    let mut cfg = load_config(c, Some(&a.catalog))?;
    a.heights.apply(&mut cfg);
    if let Some(v) = a.low {
        cfg.vegetation.low_max_m = v;
    }
    if let Some(v) = a.medium {
        cfg.vegetation.medium_max_m = v;
    }
    if let Some(v) = &a.reclassify {
        cfg.vegetation.reclassify = v.clone();
    }
    cfg.vegetation.validate()?;
    if a.format != "laz" && a.format != "las" {
        anyhow::bail!("--format must be laz or las, got {}", a.format);
    }
    std::fs::create_dir_all(&a.output).map_err(|e| landcarbon::Error::io(&a.output, e))?;
    let (catalog, plan) = open_catalog(&a.catalog, &cfg.chunk)?;
    let pb = progress(c, plan.len() as u64, "classify");
    let report = landcarbon::catalog::run(
        &catalog,
        &plan,
        &cfg.engine,
        &|_, _| pb.inc(1),
        |chunk, mut cloud| {
            let h = heights::heights(&cloud, &cfg.heights.source, &cfg.normalize)?;
            let keep: Vec<bool> = cloud.is_buffer.iter().map(|b| !b).collect();
            let h: Vec<f64> = h
                .into_iter()
                .zip(&keep)
                .filter_map(|(v, &k)| k.then_some(v))
                .collect();
            cloud.retain_mask(&keep);
            let stats = classify_vegetation(&mut cloud.classification, &h, &cfg.vegetation)?;
            let name = format!("{}.{}", chunk.file_stem(&catalog.tiles), a.format);
            if !cloud.is_empty() {
                points::write(&cloud, &a.output.join(name))?;
            }
            Ok(stats)
        },
    )?;
    pb.finish_and_clear();
    let mut s = VegetationStats::default();
    for (_, r) in &report.results {
        s.low += r.low;
        s.medium += r.medium;
        s.high += r.high;
        s.kept += r.kept;
        s.no_height += r.no_height;
    }
    if !c.quiet {
        eprintln!(
            "low {} / medium {} / high {} vegetation points; {} kept their class; {} without height -> {}",
            s.low,
            s.medium,
            s.high,
            s.kept,
            s.no_height,
            a.output.display()
        );
    }
    Ok(report_failures(c, &report, &cfg.engine))
}
