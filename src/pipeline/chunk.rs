//! The per-chunk stages, in one pass over the chunk's points in memory:
//! ground (+ noise) → ground surface → DTM → height above ground → vegetation classes → CHM →
//! trees → grid metrics → plot metrics. Every product is cropped to the chunk's core (the
//! cells of the catalog's product grid whose centre lies in the core, and on the plan's outer
//! edge those whose centre lies in no core; trees whose apex does, plots whose centre does)
//! and written under `chunks/c<id>/` with temporary names; the caller records the chunk in
//! the manifest once all are in place.

use super::config::Stages;
use crate::algo::canopy::{self, CanopyColumns};
use crate::algo::ground;
use crate::algo::metrics::{MetricComputer, Returns, METRIC_NAMES};
use crate::algo::terrain::{self, CloudGround};
use crate::algo::trees::{self, Tree};
use crate::algo::vegetation;
use crate::catalog::{Chunk, Rect};
use crate::config::Config;
use crate::points::{self, Crs, PointCloud};
use crate::raster::{write_geotiff_bands_intermediate as write_bands, Grid, Raster};
use crate::vector::{Plot, PlotShape};
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The rectangle searched for a plot's points: its bounding box widened by a metre, so that
/// rounding in the box (a circle's `x ± r`) never leaves out a point that
/// [`PlotShape::contains`] accepts.
fn plot_search_rect(shape: &PlotShape) -> [f64; 4] {
    let b = shape.bbox();
    [b[0] - 1.0, b[1] - 1.0, b[2] + 1.0, b[3] + 1.0]
}

/// Everything a chunk needs besides its points.
pub struct ChunkContext<'a> {
    pub cfg: &'a Config,
    pub stages: &'a Stages,
    pub crs: &'a Crs,
    /// The survey's output folder.
    pub out: &'a Path,
    /// Field plots of the survey (metrics are computed for those centred in the core).
    pub plots: &'a [Plot],
    /// Allometry giving each detected tree its DBH and AGB.
    pub allometry: Option<&'a crate::biomass::allometry::GroupAllometry>,
    /// The cores of every chunk of the plan, by chunk id (which raster cells a chunk computes,
    /// [`Grid::chunk_cells`]).
    pub cores: &'a [Rect],
    /// The catalog's extent (the raster products' grids, [`Grid::product`]).
    pub extent: Rect,
}

impl ChunkContext<'_> {
    /// The cells of a product of resolution `res_m` that `chunk` computes.
    fn cells(&self, chunk: &Chunk, res_m: f64) -> Grid {
        Grid::product(&self.extent, res_m).chunk_cells(self.cores, chunk.id)
    }
}

/// Plot metrics of one plot.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PlotRow {
    pub plot_index: usize,
    pub n_returns: usize,
    /// Undefined metrics (a bare plot's entropy or skewness) are NaN, which JSON writes as
    /// `null`: read back as NaN.
    #[serde(deserialize_with = "nan_for_null")]
    pub metrics: Vec<f64>,
}

fn nan_for_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<f64>, D::Error> {
    let values: Vec<Option<f64>> = serde::Deserialize::deserialize(d)?;
    Ok(values.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// What a chunk produced (besides its files).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ChunkSummary {
    pub core_points: u64,
    pub ground_points: u64,
    pub trees: usize,
    pub stage_seconds: Vec<(String, f64)>,
    pub files: Vec<PathBuf>,
}

/// The folder of chunk `id` under a survey's output folder.
pub fn chunk_dir(out: &Path, id: usize) -> PathBuf {
    out.join("chunks").join(format!("c{id:06}"))
}

struct Timer(Instant, Vec<(String, f64)>);

impl Timer {
    fn lap(&mut self, name: &str) {
        let now = Instant::now();
        self.1
            .push((name.to_string(), (now - self.0).as_secs_f64()));
        self.0 = now;
    }
}

/// Runs the stages on one chunk and writes its products.
pub fn process(ctx: &ChunkContext, chunk: &Chunk, mut cloud: PointCloud) -> Result<ChunkSummary> {
    let cfg = ctx.cfg;
    let st = ctx.stages;
    let dir = chunk_dir(ctx.out, chunk.id);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut t = Timer(Instant::now(), Vec::new());
    let mut sum = ChunkSummary {
        core_points: cloud.core_len() as u64,
        ..Default::default()
    };

    if st.ground {
        ground::classify_ground(&mut cloud, &cfg.ground)?;
        t.lap("ground");
    }
    // Between stages: a cancelled job stops here rather than after the whole chunk.
    crate::job::check()?;
    let mask = terrain::ground_mask(&cloud, &cfg.dtm.ground_classes);
    sum.ground_points = mask
        .iter()
        .zip(&cloud.is_buffer)
        .filter(|(g, b)| **g && !**b)
        .count() as u64;
    let method = cfg.dtm.method.with(cfg.dtm.tin, cfg.dtm.idw);
    let surface = match CloudGround::build(&cloud, &mask, &method) {
        Ok(s) => Some(s),
        Err(e) => {
            log::warn!(
                "chunk {}: no ground surface ({e}); no DTM, heights or canopy products",
                chunk.id
            );
            None
        }
    };
    t.lap("surface");
    if st.dtm {
        let grid = ctx.cells(chunk, cfg.dtm.res_m);
        let dtm = match &surface {
            Some(s) => terrain::rasterize(&s.surface, grid),
            None => Raster::filled(grid, terrain::NODATA),
        };
        let p = dir.join("dtm.tif");
        write_bands(&[("dtm".into(), &dtm)], ctx.crs, &p)?;
        sum.files.push(p);
        t.lap("dtm");
    }
    let Some(surface) = surface else {
        return Ok(sum);
    };
    let hag: Vec<f64> = surface
        .z_under(&cloud)
        .into_iter()
        .zip(&cloud.z)
        .map(|(g, z)| g.map(|g| z - g).unwrap_or(f64::NAN))
        .collect();
    t.lap("normalize");
    crate::job::check()?;
    if st.vegetation {
        vegetation::classify_vegetation(&mut cloud.classification, &hag, &cfg.vegetation)?;
        t.lap("vegetation");
    }
    let cols = CanopyColumns::from_cloud(&cloud, &hag)?;
    if st.chm {
        let grid = ctx.cells(chunk, cfg.chm.res_m);
        let chm = canopy::rasterize(&cols.view(), &grid, &cfg.chm)?;
        let p = dir.join("chm.tif");
        write_bands(&[("chm".into(), &chm)], ctx.crs, &p)?;
        sum.files.push(p);
        t.lap("chm");
    }
    crate::job::check()?;
    if st.trees {
        let seg = trees::segment_trees(&cols.view(), &cfg.trees)?;
        let mut kept: Vec<Tree> = seg
            .trees
            .into_iter()
            .filter(|tr| chunk.core_contains(tr.x, tr.y))
            .collect();
        kept.sort_by_key(|tr| tr.id);
        if let Some(g) = ctx.allometry {
            trees::apply_group_allometry(&mut kept, g);
        }
        sum.trees = kept.len();
        let p = dir.join("trees.json");
        write_json(&kept, &p)?;
        sum.files.push(p);
        t.lap("trees");
    }
    let opts = cfg.metrics.options();
    if st.metrics {
        let grid = ctx.cells(chunk, cfg.metrics.res_m);
        let r = Returns::from_cloud(&cloud, &hag);
        let gm = crate::algo::grid_metrics::grid_metrics(&cloud.x, &cloud.y, &r, &grid, &opts);
        let nodata = cfg.metrics.nodata as f32;
        let rasters = gm.to_rasters(nodata);
        let bands: Vec<(String, &Raster<f32>)> = METRIC_NAMES
            .iter()
            .map(|n| n.to_string())
            .zip(rasters.iter())
            .collect();
        let p = dir.join("metrics.tif");
        write_bands(&bands, ctx.crs, &p)?;
        sum.files.push(p);
        t.lap("metrics");
    }
    // A plot belongs to the chunk holding the centre of its bounding box; the buffer (wider
    // than a plot) holds the rest of it.
    let core_plots: Vec<(usize, &Plot)> = ctx
        .plots
        .iter()
        .enumerate()
        .filter(|(_, plot)| {
            let b = plot.shape.bbox();
            chunk.core_contains((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0)
        })
        .collect();
    if !ctx.plots.is_empty() {
        let r = Returns::from_cloud(&cloud, &hag);
        let mut mc = MetricComputer::new(&opts);
        let mut rows = Vec::new();
        // The points in each core plot's search rectangle, in one pass over the points for all
        // plots (ascending point order, as a scan of every point gives: the metrics' sums run in
        // that order); the plot's exact test then runs on those only, a plot being a few
        // hundred square metres of a chunk's square kilometre.
        let rects: Vec<[f64; 4]> = core_plots
            .iter()
            .map(|(_, plot)| plot_search_rect(&plot.shape))
            .collect();
        let mut near: Vec<Vec<usize>> = vec![Vec::new(); rects.len()];
        if !rects.is_empty() {
            for (i, (&x, &y)) in cloud.x.iter().zip(&cloud.y).enumerate() {
                for (b, idx) in rects.iter().zip(near.iter_mut()) {
                    // `&`, not `&&`: one branch, rarely taken, instead of four that the
                    // points' order makes unpredictable.
                    if (x >= b[0]) & (x <= b[2]) & (y >= b[1]) & (y <= b[3]) {
                        idx.push(i);
                    }
                }
            }
        }
        for ((k, plot), mut idx) in core_plots.into_iter().zip(near) {
            idx.retain(|&i| hag[i].is_finite() && plot.shape.contains(cloud.x[i], cloud.y[i]));
            rows.push(PlotRow {
                plot_index: k,
                n_returns: idx.len(),
                metrics: mc.compute(&r, idx.iter().copied()),
            });
        }
        let p = dir.join("plots.json");
        write_json(&rows, &p)?;
        sum.files.push(p);
        t.lap("plots");
    }
    if st.laz {
        let keep: Vec<bool> = cloud.is_buffer.iter().map(|b| !b).collect();
        let h: Vec<f64> = hag
            .iter()
            .zip(&keep)
            .filter_map(|(v, &k)| k.then_some(*v))
            .collect();
        cloud.retain_mask(&keep);
        cloud
            .extra
            .set_f64("HeightAboveGround", &h, "height above ground (m)");
        let p = dir.join("points.laz");
        points::write(&cloud, &p)?;
        sum.files.push(p);
        t.lap("laz");
    }
    sum.stage_seconds = t.1;
    Ok(sum)
}

/// Writes `v` as JSON under a temporary name, then renames it.
pub fn write_json<T: serde::Serialize + ?Sized>(v: &T, path: &Path) -> Result<()> {
    let tmp = crate::points::write::temp_path(path);
    let text = serde_json::to_vec(v).map_err(|e| Error::data(path.display(), e))?;
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    crate::points::write::commit_temp(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::PlotRow;

    #[test]
    fn undefined_plot_metrics_survive_the_json_round_trip() {
        let row = PlotRow {
            plot_index: 3,
            n_returns: 12,
            metrics: vec![1.5, f64::NAN, -0.0],
        };
        let text = serde_json::to_string(&[row]).unwrap();
        assert!(text.contains("null"), "{text}");
        let back: Vec<PlotRow> = serde_json::from_str(&text).unwrap();
        assert_eq!(back[0].plot_index, 3);
        assert_eq!(back[0].metrics[0], 1.5);
        assert!(back[0].metrics[1].is_nan());
        assert_eq!(back[0].metrics[2].to_bits(), (-0.0f64).to_bits());
    }
}
