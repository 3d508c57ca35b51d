//! `landcarbon normalize`: height above ground for every point, written as Z (a normalized copy)
//! or as the extra-bytes dimension `HeightAboveGround`.
//!
//! Each buffered chunk builds a ground surface from the ground points of its core and buffer
//! (TIN by default; or subtracts a DTM raster given with `--dtm`, bilinear) and writes its core
//! points only: one file per input tile (same stem) in tile mode, `{XLEFT}_{YBOTTOM}` in grid
//! mode, or the single file named by `-o x.laz` when there is one chunk. Flags override the
//! `[normalize]` section of the config file.

use super::common::{
    load_config, progress, report_failures, same_file, CatalogArgs, Common, Outcome,
};
use super::dtm::SurfaceArgs;
use anyhow::Context;
use landcarbon::algo::terrain::{self, GroundReference, GroundSurface, NormalizeOptions};
use landcarbon::catalog::{self, Catalog};
use landcarbon::points;
use landcarbon::raster;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub catalog: CatalogArgs,
    /// Output: a .laz/.las file (one chunk only) or a folder.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Subtract this DTM raster (bilinear) instead of a surface from the ground points
    /// [config: normalize.dtm].
    #[arg(long)]
    pub dtm: Option<PathBuf>,
    /// Keep Z and write the height as extra bytes `HeightAboveGround` [config: normalize.as_extra_bytes].
    #[arg(long)]
    pub as_extra_bytes: bool,
    /// Remove points with no ground within reach instead of failing [config: normalize.drop_unnormalized].
    #[arg(long)]
    pub drop_unnormalized: bool,
    /// Output format for a folder output: laz or las [config: normalize.format; default laz].
    #[arg(long)]
    pub format: Option<String>,
    #[command(flatten)]
    pub surface: SurfaceArgs,
}

pub fn options(cfg: &NormalizeOptions, a: &Args) -> NormalizeOptions {
    let mut o = cfg.clone();
    if let Some(d) = &a.dtm {
        o.dtm = Some(d.clone());
    }
    if a.as_extra_bytes {
        o.as_extra_bytes = true;
    }
    if a.drop_unnormalized {
        o.drop_unnormalized = true;
    }
    if let Some(f) = &a.format {
        o.format = f.to_lowercase();
    }
    a.surface
        .apply(&mut o.method, &mut o.tin, &mut o.idw, &mut o.ground_classes);
    o
}

/// Output path of a chunk.
fn chunk_path(
    cat: &Catalog,
    chunk: &catalog::Chunk,
    out: &Path,
    single: bool,
    format: &str,
) -> PathBuf {
    if single {
        return out.to_path_buf();
    }
    let name = format!("{}.{format}", chunk.file_stem(&cat.tiles));
    out.join(name)
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    let mut cfg = load_config(c, Some(&a.catalog))?;
    let opts = options(&cfg.normalize, a);
    opts.validate()?;
    let dtm = match &opts.dtm {
        Some(p) => {
            // A raster needs no neighbour points: skip reading buffers.
            cfg.chunk.buffer_m = 0.0;
            Some(
                raster::read_geotiff(p, 1)
                    .with_context(|| format!("reading DTM {}", p.display()))?,
            )
        }
        None => None,
    };
    let cat = Catalog::open(&a.catalog.inputs)?;
    if let Some(p) = &opts.dtm {
        let crs = raster::raster_crs(p)?;
        if !crs.is_unknown() && !cat.crs.is_unknown() && !crs.same_as(&cat.crs) {
            anyhow::bail!(
                "DTM {} is in {} but the points are in {}: reproject one of them",
                p.display(),
                crs.describe(),
                cat.crs.describe()
            );
        }
    }
    let plan = cat.plan(&cfg.chunk)?;
    if plan.is_empty() {
        anyhow::bail!("no points in the inputs");
    }
    let ext = super::common::extension(&a.output);
    let single = ext == "laz" || ext == "las";
    if single && plan.len() > 1 {
        anyhow::bail!(
            "{} chunks to write but the output {} is one file: give a folder",
            plan.len(),
            a.output.display()
        );
    }
    if !single {
        std::fs::create_dir_all(&a.output).map_err(|e| landcarbon::Error::io(&a.output, e))?;
    }
    for ch in &plan {
        let p = chunk_path(&cat, ch, &a.output, single, &opts.format);
        if let Some(t) = cat.tiles.iter().find(|t| same_file(&t.path, &p)) {
            anyhow::bail!(
                "output {} would overwrite input {}: choose another output",
                p.display(),
                t.path.display()
            );
        }
    }
    if dtm.is_none() && cfg.chunk.buffer_m <= 0.0 && plan.len() > 1 {
        log::warn!("no chunk buffer: heights near chunk edges will not be seamless");
    }
    let method = opts.method();
    let output = opts.output();
    let pb = progress(c, plan.len() as u64, "normalize");
    let report = catalog::run(
        &cat,
        &plan,
        &cfg.engine,
        &|_, _| pb.inc(1),
        |chunk, mut cloud| {
            if cloud.core_len() == 0 {
                return Ok(None);
            }
            let surface = match &dtm {
                Some(_) => None,
                None => {
                    let mask = terrain::ground_mask(&cloud, &opts.ground_classes);
                    if !mask.iter().any(|g| *g) {
                        return Err(landcarbon::Error::data(
                            "normalize",
                            format!(
                                "no ground point of classes {:?} in the chunk or its buffer: classify ground first (landcarbon ground), set --ground-classes, or give --dtm",
                                opts.ground_classes
                            ),
                        ));
                    }
                    Some(GroundSurface::from_cloud(&cloud, &mask, &method)?)
                }
            };
            let core: Vec<bool> = cloud.is_buffer.iter().map(|b| !b).collect();
            cloud.retain_mask(&core);
            let reference = match (&surface, &dtm) {
                (Some(s), _) => GroundReference::Surface(s),
                (None, Some(r)) => GroundReference::Raster(r),
                (None, None) => unreachable!("surface or raster"),
            };
            drop(core);
            let r = terrain::normalize(&mut cloud, &reference, output, opts.drop_unnormalized)?;
            let path = chunk_path(&cat, chunk, &a.output, single, &opts.format);
            points::write(&cloud, &path)?;
            Ok(Some((path, r)))
        },
    )?;
    pb.finish_and_clear();
    if !c.quiet {
        let files: Vec<_> = report
            .results
            .iter()
            .filter_map(|(_, r)| r.as_ref())
            .collect();
        let n: usize = files.iter().map(|(_, r)| r.n_normalized).sum();
        let dropped: usize = files.iter().map(|(_, r)| r.n_dropped).sum();
        eprintln!(
            "wrote {} file(s), {} points normalized{} ({}, heights as {}) to {}",
            files.len(),
            n,
            if dropped > 0 {
                format!(", {dropped} dropped")
            } else {
                String::new()
            },
            match &opts.dtm {
                Some(p) => format!("DTM {}", p.display()),
                None => method.describe(),
            },
            if opts.as_extra_bytes {
                terrain::HAG_NAME
            } else {
                "Z"
            },
            a.output.display()
        );
    }
    Ok(report_failures(c, &report, &cfg.engine))
}
