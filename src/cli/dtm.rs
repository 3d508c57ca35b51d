//! `landcarbon dtm`: a digital terrain model from ground-classified tiles, as one GeoTIFF.
//!
//! Each buffered chunk rasterizes the cells whose centres lie in its core from the ground points
//! of its core and buffer (TIN by default, or kNN-IDW; see `algo::terrain`), and the chunk
//! rasters are pasted into one mosaic on the grid of the whole catalog, aligned to `--res`, with
//! the catalog's CRS and nodata −9999. Flags override the `[dtm]` section of the config file.

use super::common::{
    load_config, open_catalog, progress, report_failures, CatalogArgs, Common, Outcome,
};
use landcarbon::algo::terrain::{self, DtmOptions, SurfaceKind, NODATA};
use landcarbon::catalog;
use landcarbon::raster::{Grid, MosaicWriter, Raster};
use std::path::PathBuf;
use std::time::Instant;

/// Surface method on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MethodArg {
    /// Delaunay TIN, linear in triangles, kNN-IDW outside the hull (lidR tin()).
    Tin,
    /// kNN inverse-distance weighting (lidR knnidw(10, 2, 50)).
    Idw,
}

/// Ground-surface flags shared by `dtm` and `normalize`.
#[derive(Debug, Clone, clap::Args)]
pub struct SurfaceArgs {
    /// Surface method [config: method; default tin].
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// IDW neighbours: for idw the k of knnidw (default 10), for tin the extrapolation's k
    /// outside the hull (default 3) [config: idw.k / tin.extrapolation.k].
    #[arg(long)]
    pub k: Option<usize>,
    /// IDW power (idw default 2; tin extrapolation default 1) [config: idw.power / tin.extrapolation.power].
    #[arg(long)]
    pub power: Option<f64>,
    /// IDW search radius in metres; beyond it cells are nodata (default 50)
    /// [config: idw.rmax_m / tin.extrapolation.rmax_m].
    #[arg(long)]
    pub rmax: Option<f64>,
    /// Classes taken as ground, comma separated, e.g. 2,9 to include water [config: ground_classes; default 2].
    #[arg(long, value_delimiter = ',')]
    pub ground_classes: Option<Vec<u8>>,
}

impl SurfaceArgs {
    /// Applies the flags onto a config section's fields.
    pub fn apply(
        &self,
        method: &mut SurfaceKind,
        tin: &mut terrain::Tin,
        idw: &mut terrain::Idw,
        ground_classes: &mut Vec<u8>,
    ) {
        if let Some(m) = self.method {
            *method = match m {
                MethodArg::Tin => SurfaceKind::Tin,
                MethodArg::Idw => SurfaceKind::Idw,
            };
        }
        let target = match method {
            SurfaceKind::Tin => &mut tin.extrapolation,
            SurfaceKind::Idw => idw,
        };
        if let Some(k) = self.k {
            target.k = k;
        }
        if let Some(p) = self.power {
            target.power = p;
        }
        if let Some(r) = self.rmax {
            target.rmax_m = r;
        }
        if let Some(g) = &self.ground_classes {
            *ground_classes = g.clone();
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub catalog: CatalogArgs,
    /// Output GeoTIFF (overwritten if it exists; never one of the inputs).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Cell size in metres [config: dtm.res_m; default 1].
    #[arg(long)]
    pub res: Option<f64>,
    #[command(flatten)]
    pub surface: SurfaceArgs,
}

/// The `[dtm]` options with the flags applied.
fn options(cfg: &DtmOptions, a: &Args) -> DtmOptions {
    let mut o = cfg.clone();
    if let Some(r) = a.res {
        o.res_m = r;
    }
    a.surface
        .apply(&mut o.method, &mut o.tin, &mut o.idw, &mut o.ground_classes);
    o
}

fn to_f32(r: &Raster<f64>) -> Raster<f32> {
    Raster {
        grid: r.grid,
        data: r.data.mapv(|v| v as f32),
        nodata: r.nodata as f32,
    }
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    let start = Instant::now();
    let cfg = load_config(c, Some(&a.catalog))?;
    let opts = options(&cfg.dtm, a);
    opts.validate()?;
    super::common::check_output_extension(&a.output, "a DTM", super::common::RASTER_EXTENSIONS)?;
    super::common::refuse_catalog_overwrite(c, &a.catalog, std::slice::from_ref(&a.output))?;
    let (cat, plan) = open_catalog(&a.catalog, &cfg.chunk)?;
    if plan.is_empty() {
        anyhow::bail!("no points in the inputs");
    }
    if cfg.chunk.buffer_m <= 0.0 && plan.len() > 1 {
        log::warn!("no chunk buffer: the DTM will not be seamless across chunk edges");
    }
    // The cells touching the catalog's extent (lidR's DTM covers the bounding box), whatever
    // the chunking; each chunk computes its share of them (`Grid::chunk_cells`).
    let grid = Grid::product(&cat.extent(), opts.res_m);
    let cores: Vec<catalog::Rect> = plan.iter().map(|ch| ch.core).collect();
    // A GeoTIFF cannot hold more than 2^31 columns or rows; refuse sizes that are typos.
    if grid.len() > 1usize << 34 {
        anyhow::bail!(
            "a {} x {} cell DTM at {} m is too large: use a larger --res",
            grid.ncols,
            grid.nrows,
            opts.res_m
        );
    }
    let mosaic = MosaicWriter::create(
        &a.output,
        grid,
        &["DTM".to_string()],
        NODATA as f32,
        &cat.crs,
    )?;
    log::info!(
        "DTM {} x {} cells at {} m, method {}",
        grid.ncols,
        grid.nrows,
        opts.res_m,
        opts.method().describe()
    );
    let pb = progress(c, plan.len() as u64, "dtm");
    let report = catalog::run(
        &cat,
        &plan,
        &cfg.engine,
        &|_, _| pb.inc(1),
        |chunk, cloud| {
            let out = terrain::dtm_cells(&cloud, grid.chunk_cells(&cores, chunk.id), &opts)?;
            let g = &out.raster.grid;
            let valid = out
                .raster
                .data
                .indexed_iter()
                .filter(|((r, c), v)| {
                    let (x, y) = g.centre(*r, *c);
                    **v != NODATA && grid.cell_of(x, y).is_some()
                })
                .count();
            if out.n_ground > 0 {
                mosaic.paste(&[&to_f32(&out.raster)])?;
            }
            Ok((out.n_ground, valid, cloud.len()))
        },
    )?;
    pb.finish_and_clear();
    let no_ground: Vec<usize> = report
        .results
        .iter()
        .filter(|(_, r)| r.0 == 0)
        .map(|(id, _)| *id)
        .collect();
    if !report.results.is_empty() && no_ground.len() == report.results.len() {
        drop(mosaic);
        anyhow::bail!(
            "no ground point of classes {:?} in any input: classify ground first (landcarbon ground) or set --ground-classes",
            opts.ground_classes
        );
    }
    for id in &no_ground {
        let ch = &plan[*id];
        log::warn!(
            "chunk {id} ({}): no ground point of classes {:?}: its cells are nodata",
            ch.tiles
                .iter()
                .map(|&t| cat.tiles[t].path.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            opts.ground_classes
        );
    }
    mosaic.finish()?;
    if !c.quiet {
        let cells: usize = report.results.iter().map(|(_, r)| r.1).sum();
        let pts: usize = report.results.iter().map(|(_, r)| r.2).sum();
        let ground: usize = report.results.iter().map(|(_, r)| r.0).sum();
        eprintln!(
            "wrote {} ({} x {} cells at {} m, {} with ground; {}) from {} points ({} ground, buffers included) in {:.2} s",
            a.output.display(),
            grid.ncols,
            grid.nrows,
            opts.res_m,
            cells,
            opts.method().describe(),
            pts,
            ground,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(report_failures(c, &report, &cfg.engine))
}
