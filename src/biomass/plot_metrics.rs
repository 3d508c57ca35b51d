//! Plot metrics: clip the returns of a catalog to each field plot — across tile borders — and
//! compute the standard metric set ([`crate::algo::metrics`]) per plot.
//!
//! Each tile whose bounding box meets a plot is read once, keeping only the returns inside the
//! bounding boxes of its plots ([`crate::points::read_filtered`]); each kept return is then
//! tested against the exact plot outlines and assigned to every plot containing it (plots may
//! overlap). Tiles are read in parallel; the returns of a plot are assembled in tile order, so
//! the result does not depend on scheduling.
//!
//! Heights ([`PlotHeights`]): as `chm` and `trees`, by default the `HeightAboveGround`
//! dimension when the file has one, else the ground surface of the class-2 points around the
//! plot (un-normalized tiles are normalized on the fly), else Z with a warning; or `z` (already
//! normalized), `ground`, or a named extra-bytes dimension.
//!
//! A plot that no tile reaches, or that holds no return, gets `n = 0` and undefined metrics,
//! with a warning.
//!
//! See also: [`crate::vector::plots`] (reading plots), `landcarbon metrics --plots`.

use crate::algo::canopy::heights;
pub use crate::algo::canopy::heights::HeightSource;
use crate::algo::metrics::{MetricComputer, MetricOptions, Returns, N_METRICS};
use crate::algo::terrain::{ground_mask, NormalizeOptions};
use crate::catalog::{engine::thread_pool, Catalog};
use crate::points::{self, PointCloud};
use crate::vector::Plot;
use crate::{Error, Result};
use rayon::prelude::*;

/// Where plot returns take their heights above ground from: the same sources as `chm` and
/// `trees` ([`HeightSource`], `auto` by default). A surface from the ground points (`auto`
/// without a `HeightAboveGround` dimension, or `ground`) is built, per plot, from the ground
/// points within `buffer_m` of the plot's bounding box, read across tiles, with the classes and
/// method of `normalize`, as `landcarbon normalize` does on a chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotHeights {
    pub source: HeightSource,
    pub normalize: NormalizeOptions,
    /// How far around a plot ground points are read for its surface (metres).
    pub buffer_m: f64,
}

impl PlotHeights {
    /// Heights from `source`, default normalization options and a 30 m buffer.
    pub fn new(source: HeightSource) -> PlotHeights {
        PlotHeights {
            source,
            normalize: NormalizeOptions::default(),
            buffer_m: 30.0,
        }
    }

    /// Whether the heights may need the ground points around the plot.
    fn needs_ground(&self) -> bool {
        matches!(self.source, HeightSource::Auto | HeightSource::Ground)
    }
}

/// The returns of one plot (columns the metrics need).
#[derive(Debug, Clone, Default)]
pub struct PlotReturns {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub height_m: Vec<f64>,
    pub intensity: Vec<u16>,
    pub return_number: Vec<u8>,
    pub number_of_returns: Vec<u8>,
    pub classification: Vec<u8>,
    pub flags: Vec<u8>,
}

impl PlotReturns {
    fn push(&mut self, c: &PointCloud, h: &[f64], i: usize) {
        self.x.push(c.x[i]);
        self.y.push(c.y[i]);
        self.height_m.push(h[i]);
        self.intensity.push(c.intensity[i]);
        self.return_number.push(c.return_number[i]);
        self.number_of_returns.push(c.number_of_returns[i]);
        self.classification.push(c.classification[i]);
        self.flags.push(c.flags[i]);
    }

    /// The columns as metric input.
    pub fn returns(&self) -> Returns<'_> {
        Returns {
            height_m: &self.height_m,
            intensity: &self.intensity,
            return_number: &self.return_number,
            number_of_returns: &self.number_of_returns,
            classification: &self.classification,
            flags: &self.flags,
        }
    }

    /// Number of returns.
    pub fn len(&self) -> usize {
        self.height_m.len()
    }

    /// `true` when the plot holds no return.
    pub fn is_empty(&self) -> bool {
        self.height_m.is_empty()
    }
}

fn overlaps(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]
}

/// Clips the catalog's returns to every plot (one [`PlotReturns`] per plot, in plot order).
/// `on_tile` is called after each tile is read (for progress bars).
pub fn clip_plots(
    catalog: &Catalog,
    plots: &[Plot],
    height: &PlotHeights,
    threads: usize,
    on_tile: &(dyn Fn() + Sync),
) -> Result<Vec<PlotReturns>> {
    let boxes: Vec<[f64; 4]> = plots.iter().map(|p| p.shape.bbox()).collect();
    // Points are read within each plot's box, and ground points within its buffered box.
    let reach = if height.needs_ground() {
        height.buffer_m
    } else {
        0.0
    };
    let grown: Vec<[f64; 4]> = boxes
        .iter()
        .map(|b| [b[0] - reach, b[1] - reach, b[2] + reach, b[3] + reach])
        .collect();
    let work: Vec<(usize, Vec<usize>)> = catalog
        .tiles
        .iter()
        .enumerate()
        .filter_map(|(ti, t)| {
            let tb = [t.bounds[0], t.bounds[1], t.bounds[3], t.bounds[4]];
            let ps: Vec<usize> = (0..plots.len())
                .filter(|&p| overlaps(&tb, &grown[p]))
                .collect();
            (!ps.is_empty()).then_some((ti, ps))
        })
        .collect();
    let inside = |b: &[f64; 4], x: f64, y: f64| x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3];
    let pool = thread_pool(threads)?;
    // Per tile, per plot: the tile's points the plot needs (its box, and its buffered box's
    // ground points when a surface may be needed).
    // (tile, [(plot, its points in the tile)])
    type TilePieces = (usize, Vec<(usize, PointCloud)>);
    let per_tile: Vec<Result<TilePieces>> = pool.install(|| {
        work.par_iter()
            .map(|(ti, ps)| {
                let path = &catalog.tiles[*ti].path;
                let cloud = points::read_filtered(path, &mut |x, y| {
                    ps.iter().any(|&p| inside(&grown[p], x, y)).then_some(false)
                })?;
                let ground = if reach > 0.0 {
                    ground_mask(&cloud, &height.normalize.ground_classes)
                } else {
                    vec![false; cloud.len()]
                };
                let out: Vec<(usize, PointCloud)> = ps
                    .iter()
                    .map(|&p| {
                        let idx: Vec<usize> = (0..cloud.len())
                            .filter(|&i| {
                                let (x, y) = (cloud.x[i], cloud.y[i]);
                                inside(&boxes[p], x, y) || (ground[i] && inside(&grown[p], x, y))
                            })
                            .collect();
                        (p, cloud.select(&idx))
                    })
                    .collect();
                on_tile();
                Ok((*ti, out))
            })
            .collect()
    });
    // Each plot's points from every tile, in tile order.
    let mut pieces: Vec<Option<PointCloud>> = vec![None; plots.len()];
    for r in per_tile {
        let (ti, out) = r?;
        for (p, c) in out {
            match &mut pieces[p] {
                None => pieces[p] = Some(c),
                Some(acc) => acc.append(&c).map_err(|e| {
                    Error::data(
                        catalog.tiles[ti].path.display(),
                        format!(
                            "plot '{}' spans tiles that cannot be merged: {e}",
                            plots[p].id
                        ),
                    )
                })?,
            }
        }
    }
    let result: Vec<Result<PlotReturns>> = pool.install(|| {
        pieces
            .par_iter()
            .zip(plots)
            .map(|(cloud, plot)| {
                let mut pr = PlotReturns::default();
                let Some(cloud) = cloud else {
                    return Ok(pr);
                };
                let h = heights::heights(cloud, &height.source, &height.normalize)?;
                for i in 0..cloud.len() {
                    if plot.shape.contains(cloud.x[i], cloud.y[i]) && h[i].is_finite() {
                        pr.push(cloud, &h, i);
                    }
                }
                Ok(pr)
            })
            .collect()
    });
    let result: Vec<PlotReturns> = result.into_iter().collect::<Result<_>>()?;
    for (p, pr) in plots.iter().zip(&result) {
        if pr.is_empty() {
            log::warn!("plot '{}': no return inside the plot", p.id);
        }
    }
    Ok(result)
}

/// Metrics of each plot's returns (`N_METRICS` values per plot, NaN where undefined).
pub fn plot_metrics(returns: &[PlotReturns], opts: &MetricOptions) -> Vec<Vec<f64>> {
    returns
        .par_iter()
        .map_init(
            || MetricComputer::new(opts),
            |mc, pr| mc.compute(&pr.returns(), 0..pr.len()),
        )
        .collect::<Vec<Vec<f64>>>()
        .into_iter()
        .inspect(|v| debug_assert_eq!(v.len(), N_METRICS))
        .collect()
}
