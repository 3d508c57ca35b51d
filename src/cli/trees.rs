//! `landcarbon trees`: individual trees over a catalog — CHM, tree tops (local maximum
//! filter), crowns (Dalponte 2016 or watershed), tree table (CSV, and GeoPackage with tree-top
//! points and crown polygons), optionally LAZ files whose points carry a `treeID` dimension
//! (unsigned 64-bit integer extra bytes, 0 = no tree; the ID of `algo::trees::tree_id`).
//!
//! Chunks run in parallel with their buffers; each chunk reports the trees whose apex lies in
//! its core, so every tree appears once and the table does not depend on the chunking.

use super::chm::ChmArgs;
use super::common::{
    extension, load_config, open_catalog, progress, report_failures, CatalogArgs, Common, Outcome,
};
use super::heights::HeightArgs;
use landcarbon::algo::canopy::heights;
use landcarbon::algo::canopy::CanopyColumns;
use landcarbon::algo::trees::{self, DetectOn, SegmentMethod, Tree, WindowForm};
use landcarbon::points;
use landcarbon::vector::{trees_csv, trees_gpkg};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub catalog: CatalogArgs,
    #[command(flatten)]
    pub heights: HeightArgs,
    #[command(flatten)]
    pub chm: ChmArgs,
    /// Output tree table: NAME.gpkg (tree_tops and crowns layers, plus NAME.csv beside it) or
    /// NAME.csv.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Tree-top detection algorithm (lmf: local maximum filter).
    #[arg(long, default_value = "lmf")]
    pub detect: String,
    /// Search tops on the CHM (chm) or on the points (points).
    #[arg(long)]
    pub detect_on: Option<DetectOn>,
    /// Crown segmentation: dalponte (region growing) or watershed.
    #[arg(long)]
    pub segment: Option<SegmentMethod>,
    /// LMF window form: fixed, linear or popescu-wynne.
    #[arg(long)]
    pub window: Option<WindowForm>,
    /// Fixed window diameter, metres.
    #[arg(long)]
    pub ws: Option<f64>,
    /// Linear window a,b (ws = a·h + b).
    #[arg(long, value_delimiter = ',')]
    pub ws_linear: Option<Vec<f64>>,
    /// Smallest window diameter, metres (variable forms).
    #[arg(long)]
    pub ws_min: Option<f64>,
    /// Largest window diameter, metres (variable forms).
    #[arg(long)]
    pub ws_max: Option<f64>,
    /// Minimum tree height, metres.
    #[arg(long)]
    pub hmin: Option<f64>,
    /// Drop tops whose saddle to a higher crown is shallower than this fraction of their
    /// height (0 = off).
    #[arg(long)]
    pub saddle_depth: Option<f64>,
    /// Search tops on the CHM smoothed with sigma = this fraction of the cell's height.
    #[arg(long)]
    pub smooth_frac: Option<f64>,
    /// Minimum crown height (cells and points), metres.
    #[arg(long)]
    pub th_tree: Option<f64>,
    /// Dalponte: seed-height fraction.
    #[arg(long)]
    pub th_seed: Option<f64>,
    /// Dalponte: mean-crown-height fraction.
    #[arg(long)]
    pub th_cr: Option<f64>,
    /// Dalponte: crown half-width in cells (lidR's max_cr).
    #[arg(long)]
    pub max_cr: Option<usize>,
    /// Fill DBH and AGB from this species group of the allometry table ("default" = the
    /// table's default group).
    #[arg(long)]
    pub allometry: Option<String>,
    /// Parameter file overriding the embedded defaults (allometry table).
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Also write the core points of every chunk, with a treeID dimension (u64 extra bytes,
    /// 0 = no tree; the tree table's tree_id), to this folder.
    #[arg(long)]
    pub laz_out: Option<PathBuf>,
}

struct ChunkOut {
    trees: Vec<Tree>,
    n_points: usize,
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    if !a.detect.eq_ignore_ascii_case("lmf") {
        anyhow::bail!(
            "--detect must be lmf (local maximum filter), got {}",
            a.detect
        );
    }
    let ext = extension(&a.output);
    if ext != "gpkg" && ext != "csv" {
        anyhow::bail!("-o must end in .gpkg or .csv, got {}", a.output.display());
    }
    // A GeoPackage output writes its tree table beside it as CSV.
    super::common::refuse_catalog_overwrite(
        c,
        &a.catalog,
        &[a.output.clone(), a.output.with_extension("csv")],
    )?;
    let mut cfg = load_config(c, Some(&a.catalog))?;
    a.heights.apply(&mut cfg);
    a.chm.apply(&mut cfg.trees.chm)?;
    let t = &mut cfg.trees;
    if let Some(v) = a.detect_on {
        t.detect_on = v;
    }
    if let Some(v) = a.segment {
        t.segment = v;
    }
    if let Some(v) = a.window {
        t.lmf.window = v;
    }
    if let Some(v) = a.ws {
        t.lmf.ws_m = v;
    }
    if let Some(v) = &a.ws_linear {
        if v.len() != 2 {
            anyhow::bail!("--ws-linear needs two values a,b, got {v:?}");
        }
        t.lmf.linear = [v[0], v[1]];
    }
    if let Some(v) = a.ws_min {
        t.lmf.ws_min_m = v;
    }
    if let Some(v) = a.ws_max {
        t.lmf.ws_max_m = v;
    }
    if let Some(v) = a.hmin {
        t.lmf.hmin_m = v;
    }
    if let Some(v) = a.saddle_depth {
        t.saddle.min_depth_frac = v;
    }
    if let Some(v) = a.smooth_frac {
        t.detect_smooth_frac = v;
    }
    if let Some(v) = a.th_tree {
        t.th_tree_m = v;
    }
    if let Some(v) = a.th_seed {
        t.dalponte.th_seed = v;
    }
    if let Some(v) = a.th_cr {
        t.dalponte.th_cr = v;
    }
    if let Some(v) = a.max_cr {
        t.dalponte.max_cr_px = v;
    }
    if let Some(v) = &a.allometry {
        t.allometry_group = Some(v.clone());
    }
    if let Some(v) = &a.params {
        t.params = Some(v.clone());
    }
    // Resolve the allometry before reading any point, so a bad group fails fast.
    let params = match &cfg.trees.allometry_group {
        Some(_) => Some(landcarbon::params::Params::load(
            cfg.trees.params.as_deref(),
        )?),
        None => None,
    };
    let group = match (&params, &cfg.trees.allometry_group) {
        (Some(p), Some(g)) => Some(p.allometry.group((g != "default").then_some(g.as_str()))?),
        _ => None,
    };
    cfg.trees.validate()?;
    let reach = cfg.trees.reach_m();
    if cfg.chunk.buffer_m < reach {
        log::warn!(
            "buffer {} m is narrower than a tree's reach ({reach:.1} m): trees near chunk edges may differ from a single-file run",
            cfg.chunk.buffer_m
        );
    }
    if let Some(d) = &a.laz_out {
        std::fs::create_dir_all(d).map_err(|e| landcarbon::Error::io(d, e))?;
    }
    let (catalog, plan) = open_catalog(&a.catalog, &cfg.chunk)?;
    let t0 = Instant::now();
    let warned_sparse = AtomicBool::new(false);
    let pb = progress(c, plan.len() as u64, "trees");
    let report = landcarbon::catalog::run(
        &catalog,
        &plan,
        &cfg.engine,
        &|_, _| pb.inc(1),
        |chunk, mut cloud| {
            let n_core = cloud.core_len();
            // The default window is meant for >= ~5 first returns per m2 (see TreesParams).
            let area = (chunk.core[2] - chunk.core[0]) * (chunk.core[3] - chunk.core[1]);
            let n_first = (0..cloud.len())
                .filter(|&i| !cloud.is_buffer[i] && cloud.is_first_return(i))
                .count();
            let density = n_first as f64 / area.max(1.0);
            if density < 4.0 && !warned_sparse.swap(true, Ordering::Relaxed) {
                log::warn!(
                    "chunk {}: {density:.1} first returns per m2; with sparse points small windows find spurious tops — consider --ws-linear 0.07,3 --ws-min 3 --ws-max 5 (lidR)",
                    chunk.id
                );
            }
            let h = heights::heights(&cloud, &cfg.heights.source, &cfg.normalize)?;
            let cols = CanopyColumns::from_cloud(&cloud, &h)?;
            let seg = trees::segment_trees(&cols.view(), &cfg.trees)?;
            if let Some(dir) = &a.laz_out {
                let mut ids = vec![0u64; cloud.len()];
                for (k, id) in seg.point_ids().into_iter().enumerate() {
                    ids[cols.index[k]] = id;
                }
                let keep: Vec<bool> = cloud.is_buffer.iter().map(|b| !b).collect();
                let ids: Vec<u64> = ids
                    .into_iter()
                    .zip(&keep)
                    .filter_map(|(v, &k)| k.then_some(v))
                    .collect();
                cloud.retain_mask(&keep);
                cloud
                    .extra
                    .set_u64("treeID", &ids, "tree ID from apex position");
                let name = format!("{}.laz", chunk.file_stem(&catalog.tiles));
                points::write(&cloud, &dir.join(name))?;
            }
            let trees: Vec<Tree> = seg
                .trees
                .into_iter()
                .filter(|t| chunk.core_contains(t.x, t.y))
                .collect();
            Ok(ChunkOut {
                trees,
                n_points: n_core,
            })
        },
    )?;
    pb.finish_and_clear();
    let outcome = report_failures(c, &report, &cfg.engine);
    let mut all: Vec<Tree> = Vec::new();
    let mut n_points = 0usize;
    for (_, r) in report.results {
        n_points += r.n_points;
        all.extend(r.trees);
    }
    all.sort_by_key(|t| t.id);
    all.dedup_by_key(|t| t.id);
    if let Some(g) = group {
        trees::apply_group_allometry(&mut all, g);
    }
    let csv = if ext == "gpkg" {
        trees_gpkg::write_trees_gpkg(&all, &catalog.crs, &a.output)?;
        a.output.with_extension("csv")
    } else {
        a.output.clone()
    };
    trees_csv::write_trees_csv(&all, &csv)?;
    let secs = t0.elapsed().as_secs_f64();
    if !c.quiet {
        if group.is_some() {
            let agb: f64 = all.iter().filter_map(|t| t.agb_kg).sum();
            eprintln!(
                "allometry group '{}': total AGB {:.1} t",
                cfg.trees.allometry_group.as_deref().unwrap_or(""),
                agb / 1000.0
            );
        }
        eprintln!(
            "{} trees from {} points in {:.2} s ({:.0} trees/s, {:.0} points/s) -> {}{}",
            all.len(),
            n_points,
            secs,
            all.len() as f64 / secs,
            n_points as f64 / secs,
            a.output.display(),
            if ext == "gpkg" {
                format!(" + {}", Path::new(&csv).display())
            } else {
                String::new()
            }
        );
    }
    Ok(outcome)
}
