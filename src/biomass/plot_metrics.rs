//! Plot metrics: clip the returns of a catalog to each field plot — across tile borders — and
//! compute the standard metric set ([`crate::algo::metrics`]) per plot.
//!
//! Each tile whose bounding box meets a plot is read once, keeping only the returns inside the
//! bounding boxes of its plots ([`crate::points::read_filtered`]); each kept return is then
//! tested against the exact plot outlines and assigned to every plot containing it (plots may
//! overlap). Tiles are read in parallel; the returns of a plot are assembled in tile order, so
//! the result does not depend on scheduling.
//!
//! Heights: the point clouds must be height-normalized. Heights are `z` (default) or an
//! extra-bytes attribute holding height above ground (e.g. `HeightAboveGround` as PDAL writes
//! it), see [`HeightSource`].
//!
//! A plot that no tile reaches, or that holds no return, gets `n = 0` and undefined metrics,
//! with a warning.
//!
//! See also: [`crate::vector::plots`] (reading plots), `landcarbon metrics --plots`.

use crate::algo::metrics::{MetricComputer, MetricOptions, Returns, N_METRICS};
use crate::catalog::{engine::thread_pool, Catalog};
use crate::points::{self, PointCloud};
use crate::vector::Plot;
use crate::{Error, Result};
use rayon::prelude::*;

/// Where heights above ground come from.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeightSource {
    /// `z` is already height above ground.
    #[default]
    Z,
    /// An extra-bytes attribute of this name holds the height.
    Extra(String),
}

impl HeightSource {
    /// Parses `z` or the name of an extra-bytes attribute.
    pub fn parse(s: &str) -> HeightSource {
        if s.eq_ignore_ascii_case("z") {
            HeightSource::Z
        } else {
            HeightSource::Extra(s.to_string())
        }
    }

    /// Heights of every point of `cloud`.
    pub fn heights(&self, cloud: &PointCloud) -> Result<Vec<f64>> {
        match self {
            HeightSource::Z => Ok(cloud.z.clone()),
            HeightSource::Extra(name) => cloud.extra.get_f64(name).ok_or_else(|| {
                Error::data(
                    cloud
                        .meta
                        .path
                        .as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    format!("no extra-bytes attribute '{name}' to read heights from"),
                )
            }),
        }
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

    fn append(&mut self, o: PlotReturns) {
        self.x.extend(o.x);
        self.y.extend(o.y);
        self.height_m.extend(o.height_m);
        self.intensity.extend(o.intensity);
        self.return_number.extend(o.return_number);
        self.number_of_returns.extend(o.number_of_returns);
        self.classification.extend(o.classification);
        self.flags.extend(o.flags);
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
    height: &HeightSource,
    threads: usize,
    on_tile: &(dyn Fn() + Sync),
) -> Result<Vec<PlotReturns>> {
    let boxes: Vec<[f64; 4]> = plots.iter().map(|p| p.shape.bbox()).collect();
    let work: Vec<(usize, Vec<usize>)> = catalog
        .tiles
        .iter()
        .enumerate()
        .filter_map(|(ti, t)| {
            let tb = [t.bounds[0], t.bounds[1], t.bounds[3], t.bounds[4]];
            let ps: Vec<usize> = (0..plots.len())
                .filter(|&p| overlaps(&tb, &boxes[p]))
                .collect();
            (!ps.is_empty()).then_some((ti, ps))
        })
        .collect();
    let pool = thread_pool(threads)?;
    let per_tile: Vec<Result<Vec<(usize, PlotReturns)>>> = pool.install(|| {
        work.par_iter()
            .map(|(ti, ps)| {
                let path = &catalog.tiles[*ti].path;
                let cloud = points::read_filtered(path, &mut |x, y| {
                    ps.iter()
                        .any(|&p| {
                            let b = &boxes[p];
                            x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3]
                        })
                        .then_some(false)
                })?;
                let h = height.heights(&cloud)?;
                let mut out: Vec<(usize, PlotReturns)> =
                    ps.iter().map(|&p| (p, PlotReturns::default())).collect();
                for i in 0..cloud.len() {
                    for (p, pr) in out.iter_mut() {
                        if plots[*p].shape.contains(cloud.x[i], cloud.y[i]) {
                            pr.push(&cloud, &h, i);
                        }
                    }
                }
                on_tile();
                Ok(out)
            })
            .collect()
    });
    let mut result: Vec<PlotReturns> = vec![PlotReturns::default(); plots.len()];
    for r in per_tile {
        for (p, pr) in r? {
            result[p].append(pr);
        }
    }
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
