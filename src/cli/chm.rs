//! `landcarbon chm`: canopy height model GeoTIFF over a catalog, chunk by chunk in parallel,
//! each chunk writing the cells whose centres lie in its core into one mosaic (seamless).

use super::common::{
    load_config, open_catalog, progress, report_failures, CatalogArgs, Common, Outcome,
};
use super::heights::HeightArgs;
use landcarbon::algo::canopy::heights;
use landcarbon::algo::canopy::{
    self, smooth::Smooth, CanopyColumns, ChmMethod, ChmParams, CHM_NODATA,
};
use landcarbon::raster::{Grid, MosaicWriter};
use std::path::PathBuf;
use std::time::Instant;

/// CHM flags, shared with `landcarbon trees` (sections `[chm]` and `[trees.chm]`).
#[derive(Debug, Clone, clap::Args)]
pub struct ChmArgs {
    /// CHM method: p2r (highest return per cell) or pitfree (Khosravipour et al. 2014).
    #[arg(long)]
    pub method: Option<ChmMethod>,
    /// Cell size in metres.
    #[arg(long)]
    pub res: Option<f64>,
    /// Spread each return on a circle of this radius (metres; 0 = off).
    #[arg(long)]
    pub subcircle: Option<f64>,
    /// Pit-free height thresholds, comma-separated [default 0,2,5,10,15].
    #[arg(long, value_delimiter = ',')]
    pub thresholds: Option<Vec<f64>>,
    /// Pit-free maximum triangle edges: for threshold 0, for the others [default 0,1].
    #[arg(long, value_delimiter = ',')]
    pub max_edge: Option<Vec<f64>>,
    /// Smoothing after rasterizing: none, median3 or gaussian.
    #[arg(long)]
    pub smooth: Option<Smooth>,
    /// Gaussian smoothing standard deviation, metres.
    #[arg(long)]
    pub sigma: Option<f64>,
}

impl ChmArgs {
    /// Applies the flags over the configuration's `[chm]` section.
    pub fn apply(&self, p: &mut ChmParams) -> anyhow::Result<()> {
        if let Some(v) = self.method {
            p.method = v;
        }
        if let Some(v) = self.res {
            p.res_m = v;
        }
        if let Some(v) = self.subcircle {
            p.subcircle_m = v;
        }
        if let Some(v) = &self.thresholds {
            p.thresholds_m = v.clone();
        }
        if let Some(v) = &self.max_edge {
            if v.len() != 2 {
                anyhow::bail!("--max-edge needs two values, got {v:?}");
            }
            p.max_edge_m = [v[0], v[1]];
        }
        if let Some(v) = self.smooth {
            p.smooth = v;
        }
        if let Some(v) = self.sigma {
            p.sigma_m = v;
        }
        Ok(())
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub catalog: CatalogArgs,
    #[command(flatten)]
    pub heights: HeightArgs,
    #[command(flatten)]
    pub chm: ChmArgs,
    /// Output GeoTIFF (overwritten if it exists; never one of the inputs).
    #[arg(short, long)]
    pub output: PathBuf,
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    super::common::check_output_extension(&a.output, "a CHM", super::common::RASTER_EXTENSIONS)?;
    super::common::refuse_catalog_overwrite(c, &a.catalog, std::slice::from_ref(&a.output))?;
    let mut cfg = load_config(c, Some(&a.catalog))?;
    a.heights.apply(&mut cfg);
    a.chm.apply(&mut cfg.chm)?;
    cfg.chm.validate()?;
    let p = cfg.chm.clone();
    let reach = match p.method {
        ChmMethod::P2r => p.subcircle_m,
        ChmMethod::Pitfree => p.max_edge_m[1].max(p.max_edge_m[0]).max(2.0),
    } + p.margin_cells() as f64 * p.res_m;
    if cfg.chunk.buffer_m < reach {
        log::warn!(
            "buffer {} m is narrower than the CHM's reach ({reach:.1} m): chunk edges may show",
            cfg.chunk.buffer_m
        );
    }
    let (catalog, plan) = open_catalog(&a.catalog, &cfg.chunk)?;
    if plan.is_empty() {
        anyhow::bail!("the catalog has no points");
    }
    // One grid whatever the chunking (`Grid::product`); each chunk computes its share.
    let grid = Grid::product(&catalog.extent(), p.res_m);
    let cores: Vec<landcarbon::catalog::Rect> = plan.iter().map(|ch| ch.core).collect();
    let mosaic = MosaicWriter::create(
        &a.output,
        grid,
        &["chm".to_string()],
        CHM_NODATA,
        &catalog.crs,
    )?;
    let t0 = Instant::now();
    let pb = progress(c, plan.len() as u64, "chm");
    let report = landcarbon::catalog::run(
        &catalog,
        &plan,
        &cfg.engine,
        &|_, _| pb.inc(1),
        |chunk, cloud| {
            let h = heights::heights(&cloud, &cfg.heights.source, &cfg.normalize)?;
            let cols = CanopyColumns::from_cloud(&cloud, &h)?;
            let g = grid.chunk_cells(&cores, chunk.id);
            let r = canopy::rasterize(&cols.view(), &g, &p)?;
            mosaic.paste(&[&r])?;
            Ok(cloud.len())
        },
    )?;
    pb.finish_and_clear();
    let outcome = report_failures(c, &report, &cfg.engine);
    if report.results.is_empty() {
        anyhow::bail!("no chunk succeeded; {} not written", a.output.display());
    }
    mosaic.finish()?;
    if !c.quiet {
        let n: usize = report.results.iter().map(|(_, n)| n).sum();
        eprintln!(
            "CHM {}x{} cells at {} m ({:?}) from {} points in {:.1} s -> {}",
            grid.ncols,
            grid.nrows,
            p.res_m,
            p.method,
            n,
            t0.elapsed().as_secs_f64(),
            a.output.display()
        );
    }
    Ok(outcome)
}
