//! Individual trees: tree tops ([`lmf`]), crowns ([`dalponte2016`] region growing or marker
//! controlled [`watershed`]), per-point tree IDs, and the tree table ([`metrics`]); plus the
//! one-to-one [`matching`] of detected and field trees used by `landcarbon eval trees`.
//!
//! [`segment_trees`] runs the whole chain on one set of height-normalized points:
//! CHM ([`crate::algo::canopy`]) → tops (LMF on the CHM or on the points) → crowns on the CHM →
//! point labels (a point of height ≥ `th_tree_m` takes the crown of its CHM cell) → metrics.
//!
//! Tree IDs come from the apex position ([`tree_id`]), not from a counter, so a tree gets the
//! same ID whichever chunk finds it; a chunked run keeps the trees whose apex lies in the
//! chunk's core, which reports each tree exactly once and gives the same table as a single-file
//! run as long as the buffer is wider than a crown plus the detection window.
//!
//! See also: [`crate::algo::canopy`] (CHM), [`crate::algo::vegetation`].

pub mod dalponte2016;
pub mod height_smooth;
pub mod hull;
pub mod lmf;
pub mod lower_layer;
pub mod matching;
pub mod metrics;
pub mod saddle;
pub mod watershed;

pub use dalponte2016::Dalponte2016Params;
pub use lmf::{LmfParams, WindowForm};
pub use lower_layer::LowerLayerParams;
pub use metrics::{apply_allometry, apply_group_allometry, Allometry, Tree};
pub use saddle::SaddleParams;

use crate::algo::canopy::{self, ChmParams, HeightPoints};
use crate::raster::{Grid, Raster};
use crate::{Error, Result};
use std::cmp::Ordering;

/// The tree ID of an apex at `(x, y)`: the index of its decimetre cell on a fixed global grid,
/// lidR's `bitmerge` idea (x in the high bits, y in the low bits) on a grid of its own rather
/// than the file's scale and offset, so that it does not depend on the file, the chunk or the
/// run: `(x_dm mod 2²⁷)·2²⁶ + (y_dm mod 2²⁶) + 1`.
///
/// IDs are integers, written as such: an unsigned 64-bit extra-bytes dimension (LAS data type
/// 7) in LAZ, an integer column in CSV, an Integer64 field in GeoPackage. They stay below 2⁵³ so
/// that tools which turn every attribute into a double (R's rlas/lidR, CloudCompare scalar
/// fields) still read them exactly. Two apexes share an ID only if they lie in the same
/// decimetre cell modulo 13,421 km in x and 6,710 km in y, i.e. never within one projected CRS
/// zone (local maxima are metres apart). 0 is never an ID: it marks "no tree" on points.
pub fn tree_id(x: f64, y: f64) -> u64 {
    let xd = (x * 10.0).round() as i64;
    let yd = (y * 10.0).round() as i64;
    (xd.rem_euclid(1 << 27) as u64) * (1u64 << 26) + yd.rem_euclid(1 << 26) as u64 + 1
}

/// A tree top: apex position and height.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TreeTop {
    pub id: u64,
    pub x: f64,
    pub y: f64,
    pub height_m: f64,
}

impl TreeTop {
    /// A top at `(x, y)` of height `h`; its ID comes from the position.
    pub fn new(x: f64, y: f64, height_m: f64) -> TreeTop {
        TreeTop {
            id: tree_id(x, y),
            x,
            y,
            height_m,
        }
    }
}

/// A tree top placed on a CHM cell (the seed of a crown).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seed {
    pub row: usize,
    pub col: usize,
    pub x: f64,
    pub y: f64,
    pub height_m: f64,
}

impl Seed {
    /// A seed on cell `(row, col)` for the top at `(x, y)` of height `h`.
    pub fn new(row: usize, col: usize, x: f64, y: f64, height_m: f64) -> Seed {
        Seed {
            row,
            col,
            x,
            y,
            height_m,
        }
    }

    /// Ranking by (height, x, y), a position-only total order.
    pub fn rank_cmp(&self, o: &Seed) -> Ordering {
        self.height_m
            .total_cmp(&o.height_m)
            .then(self.x.total_cmp(&o.x))
            .then(self.y.total_cmp(&o.y))
    }
}

/// Where tree tops are searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectOn {
    /// On the cells of the (smoothed) CHM.
    Chm,
    /// On the points.
    Points,
}

impl std::str::FromStr for DetectOn {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "chm" => Ok(DetectOn::Chm),
            "points" => Ok(DetectOn::Points),
            _ => Err(format!("unknown detection input '{s}' (chm or points)")),
        }
    }
}

/// Crown segmentation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SegmentMethod {
    /// Dalponte & Coomes 2016 region growing.
    Dalponte,
    /// Marker-controlled watershed.
    Watershed,
}

impl std::str::FromStr for SegmentMethod {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "dalponte" | "dalponte2016" => Ok(SegmentMethod::Dalponte),
            "watershed" | "mcwatershed" => Ok(SegmentMethod::Watershed),
            _ => Err(format!(
                "unknown segmentation '{s}' (dalponte or watershed)"
            )),
        }
    }
}

/// Tree detection and segmentation parameters (the `[trees]` section of the configuration,
/// with the CHM they work on in `[trees.chm]`).
///
/// Defaults, and where they come from:
/// * CHM: 0.5 m cells, pit-free (lidR's `pitfree()` defaults), then a 3×3 median (as lidR's
///   `lmf` documentation smooths its CHM). On Chablais 3 (13.5 pts/m²) it scores a little
///   below the documentation's `p2r(0.15)` (F 0.823 against 0.841 above the suppressed layer)
///   but degrades much less when the points are thinned (6 / 3 / 1.5 pts/m²: F 0.81 / 0.78 /
///   0.68 against 0.83 / 0.75 / 0.61, precision 0.93 / 0.82 / 0.80 against 0.81 / 0.63 /
///   0.44), because the TIN fills the empty cells that a sparse p2r CHM turns into spurious
///   maxima (`scripts/trees_thinning.py`);
/// * tops on the CHM, linear window `ws = 0.1·h` clamped to [1, 10] m: lidaRtRee's default
///   maxima window (radius `dmin + dprop·h` with `dmin = 0`, `dprop = 0.05`), developed for
///   the Alpine mixed forests of Chablais and Vercors (Monnet 2011; Eysn et al. 2015); lidR's
///   documentation example `0.07·h + 3` (3–5 m) merges neighbouring crowns in such dense
///   stands (recall 0.59 instead of 0.75 above the suppressed layer on Chablais 3);
/// * `hmin_m = 2`, `th_tree_m = 2` (lidR);
/// * tops in open canopy merge into a higher crown they are joined to by a saddle shallower
///   than 5 % of their height, when that crown is at most 1/0.85 of their height
///   ([`saddle`]: `[trees.saddle]`, min_depth_frac 0.05, max_dist_m 10, max_cover 0.45,
///   min_height_ratio 0.85). Broad open-grown crowns carry several limb clumps that the small
///   window splits into tops; a wider window or a stronger smoothing that merges them also
///   merges the touching crowns of a closed stand, so the merge is gated on open canopy;
/// * no height-scaled smoothing (`detect_smooth_frac = 0`);
/// * tops of suppressed trees in gaps ([`lower_layer`], `[trees.lower_layer]`): the LMF also
///   runs on the CHM before the median, and a top found there is added when it lies more
///   than 3.5 m from every top of the median CHM and below half the tallest of them within
///   6 m. On Chablais 3 this raises F over all trees from 0.678 to 0.707 (below the 12.5 m
///   cut 0.37 → 0.48, 12.5–20 m 0.747 → 0.753, above the cut 0.813 → 0.816) and leaves the
///   savanna and MixedConifer as they were (0.986 / 0.919; F 0.798 → 0.800). Nearby settings
///   (min_dist 2.5–3.5 m × radius 6–8 m) give Chablais F 0.694–0.710 and MixedConifer
///   0.789–0.801: the thresholds are tuned on these plots, the gain from the search is not.
///   The unsmoothed CHM alone (no median) finds more suppressed trees but splits crowns
///   (F 0.643, MixedConifer 0.587); a finer or height-scaled smoothing, a smaller window
///   (`0.05·h`), tops on the points and a search of the points below the canopy layer (even
///   requiring a vertical gap under the crown above) all stay at or below F 0.69 over all
///   trees: most of the 42 trees below 12.5 m stand under a neighbour's crown and have no
///   top in the CHM or among the first returns;
/// * Dalponte & Coomes region growing with lidR's defaults.
///
/// Measured (`scripts/trees_generalize.sh`; `eval trees` defaults: greedy one-to-one, ≤ 3 m,
/// ≤ 30 % height, detections clipped to the field plot's hull + 1 m; F above the suppressed
/// layer / over all trees, or precision):
///
/// | site | old defaults | window Popescu–Wynne | smoothing σ = 0.04·h | saddle 5 % everywhere | no lower layer | **defaults** |
/// |---|---|---|---|---|---|---|
/// | Chablais 3, 110 field trees: F above 12.5 m / all | 0.813 / 0.678 | 0.606 / 0.497 | 0.705 / 0.582 | 0.647 / 0.530 | 0.813 / 0.678 | **0.816 / 0.707** |
/// | synthetic oak savanna seed 11 / 12: precision | 0.476 / 0.433 | 0.739 / 0.716 | 0.667 / 0.630 | 1.000 / 1.000 | 0.986 / 0.919 | **0.986 / 0.919** |
/// | lidR MixedConifer vs its `treeID` apexes: F | 0.798 | 0.758 | 0.848 | 0.813 | 0.798 | **0.800** |
///
/// (the first four columns without the lower-layer search).
///
/// (the savanna of [`crate::synth_savanna`], recall 1.0 throughout except where noted in the
/// script; MixedConifer's reference is lidR's own segmentation, not field truth). The gate
/// at 45 % cover: 0.40 leaves savanna precision at 0.80–0.90, 0.50 costs MixedConifer one
/// tree (F 0.796), 0.60–0.70 costs Chablais 2–4 trees (F 0.793 / 0.780).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TreesParams {
    /// The CHM the trees are detected and segmented on.
    pub chm: ChmParams,
    /// Search tops on the CHM or on the points.
    pub detect_on: DetectOn,
    /// Local maximum filter.
    pub lmf: LmfParams,
    /// Tops are searched on the CHM smoothed with a Gaussian of `sigma = detect_smooth_frac · h`
    /// (0 = on the CHM as is); crowns grow on the unsmoothed CHM.
    pub detect_smooth_frac: f64,
    /// Merging of tops not separated by a deep enough saddle (after the LMF).
    pub saddle: SaddleParams,
    /// Tops of suppressed trees in canopy gaps, from the CHM before smoothing (with
    /// `detect_on = "chm"` and a smoothed CHM; [`lower_layer`]).
    pub lower_layer: LowerLayerParams,
    /// Crown segmentation.
    pub segment: SegmentMethod,
    /// Minimum height of a crown cell and of a point that gets a tree ID, metres (lidR's
    /// `th_tree`, default 2).
    pub th_tree_m: f64,
    /// Region-growing parameters (used with `segment = "dalponte"`).
    pub dalponte: Dalponte2016Params,
    /// Species group of the parameter file's `[allometry]` table giving each tree a DBH and
    /// an AGB (`"default"` = the table's default group); absent = DBH and AGB left empty.
    pub allometry_group: Option<String>,
    /// Parameter file overriding the embedded defaults (as `[carbon] params`).
    pub params: Option<std::path::PathBuf>,
}

impl Default for TreesParams {
    fn default() -> Self {
        TreesParams {
            chm: ChmParams {
                res_m: 0.5,
                method: canopy::ChmMethod::Pitfree,
                subcircle_m: 0.0,
                smooth: canopy::smooth::Smooth::Median3,
                ..ChmParams::default()
            },
            detect_on: DetectOn::Chm,
            lmf: LmfParams {
                window: WindowForm::Linear,
                linear: [0.1, 0.0],
                ws_min_m: 1.0,
                ws_max_m: 10.0,
                ..LmfParams::default()
            },
            detect_smooth_frac: 0.0,
            saddle: SaddleParams::default(),
            lower_layer: LowerLayerParams::default(),
            segment: SegmentMethod::Dalponte,
            th_tree_m: 2.0,
            dalponte: Dalponte2016Params::default(),
            allometry_group: None,
            params: None,
        }
    }
}

impl TreesParams {
    /// Checks the values are in range.
    pub fn validate(&self) -> Result<()> {
        self.chm.validate()?;
        self.lmf.validate()?;
        self.saddle.validate()?;
        self.lower_layer.validate()?;
        self.dalponte.validate()?;
        if !(self.detect_smooth_frac.is_finite() && (0.0..0.5).contains(&self.detect_smooth_frac)) {
            return Err(Error::Config(format!(
                "trees.detect_smooth_frac must be in [0, 0.5), got {}",
                self.detect_smooth_frac
            )));
        }
        if !self.th_tree_m.is_finite() {
            return Err(Error::Config(format!(
                "trees.th_tree_m must be finite, got {}",
                self.th_tree_m
            )));
        }
        Ok(())
    }

    /// The widest reach of one tree in metres (detection window radius plus the largest
    /// crown): a chunk buffer should exceed it for chunked runs to equal single-file runs.
    pub fn reach_m(&self) -> f64 {
        let crown = match self.segment {
            SegmentMethod::Dalponte => self.dalponte.max_cr_px as f64 * self.chm.res_m,
            // Watershed crowns have no size limit; 10 m is a generous crown radius.
            SegmentMethod::Watershed => 10.0,
        };
        let saddle = if self.saddle.active() {
            self.saddle.max_dist_m
        } else {
            0.0
        };
        (0.5 * self.lmf.max_window_m())
            .max(saddle)
            .max(self.lower_layer.reach_m())
            + 2.0 * crown
    }
}

/// What [`segment_trees`] produces.
#[derive(Debug, Clone)]
pub struct Segmentation {
    /// The CHM the crowns were grown on (over the points' extent).
    pub chm: Raster<f32>,
    /// Tree tops, one per tree, at their apex returns (`tops[k]` matches `trees[k]`).
    pub tops: Vec<TreeTop>,
    /// Crown labels on the CHM grid: `k + 1` for `tops[k]`, 0 = no crown.
    pub labels: Raster<u32>,
    /// Crown label of each input point (0 = none).
    pub point_label: Vec<u32>,
    /// The tree table, `trees[k]` for `tops[k]`.
    pub trees: Vec<Tree>,
}

impl Segmentation {
    /// Tree ID of each input point (0 = not in a tree).
    pub fn point_ids(&self) -> Vec<u64> {
        self.point_label
            .iter()
            .map(|&l| {
                if l == 0 {
                    0
                } else {
                    self.tops[(l - 1) as usize].id
                }
            })
            .collect()
    }
}

/// Detects, segments and measures the trees of `points`.
pub fn segment_trees(points: &HeightPoints, p: &TreesParams) -> Result<Segmentation> {
    p.validate()?;
    let chm_params = &p.chm;
    let Some(rect) = points.rect() else {
        let g = Grid {
            x_min: 0.0,
            y_max: 0.0,
            res_m: chm_params.res_m,
            ncols: 0,
            nrows: 0,
        };
        return Ok(Segmentation {
            chm: Raster::filled(g, canopy::CHM_NODATA),
            tops: Vec::new(),
            labels: Raster::filled(g, 0),
            point_label: Vec::new(),
            trees: Vec::new(),
        });
    };
    // Grown by the subcircle, whose points may land beyond the returns' extent.
    let sc = chm_params.subcircle_m;
    let grid = Grid::covering(
        &[rect[0] - sc, rect[1] - sc, rect[2] + sc, rect[3] + sc],
        chm_params.res_m,
    );
    let (chm, raw_chm) = canopy::rasterize_pair(points, &grid, chm_params)?;
    let det_chm = height_smooth::smooth_by_height(&chm, p.detect_smooth_frac);
    let tops = match p.detect_on {
        DetectOn::Chm => lmf::lmf_chm(&det_chm, &p.lmf)?,
        DetectOn::Points => lmf::lmf_points(points.x, points.y, points.h, &p.lmf)?,
    };
    let mut tops = saddle::merge_shallow(&det_chm, tops, &p.saddle);
    if p.detect_on == DetectOn::Chm
        && p.lower_layer.active()
        && (!matches!(p.chm.smooth, canopy::smooth::Smooth::None) || p.detect_smooth_frac > 0.0)
    {
        let fine = lmf::lmf_chm(&raw_chm, &p.lmf)?;
        let low = lower_layer::select(&tops, fine, &p.lower_layer);
        tops.extend(low);
    }
    // One seed per cell: the highest top of the cell wins.
    let mut seeds: Vec<Seed> = Vec::with_capacity(tops.len());
    let mut kept: Vec<TreeTop> = Vec::with_capacity(tops.len());
    tops.sort_by(|a, b| {
        b.height_m
            .total_cmp(&a.height_m)
            .then(b.x.total_cmp(&a.x))
            .then(b.y.total_cmp(&a.y))
    });
    let mut taken = std::collections::HashSet::new();
    for t in &tops {
        let Some((row, col)) = grid.cell_of(t.x, t.y) else {
            continue;
        };
        if taken.insert((row, col)) {
            seeds.push(Seed::new(row, col, t.x, t.y, t.height_m));
            kept.push(*t);
        }
    }
    let labels = match p.segment {
        SegmentMethod::Dalponte => {
            dalponte2016::dalponte2016(&chm, &seeds, p.th_tree_m, &p.dalponte)?
        }
        SegmentMethod::Watershed => watershed::watershed(&chm, &seeds, p.th_tree_m),
    };
    // `Grid::cell_of` with its expressions and its bounds in the same order (the same cells,
    // NaN included: `as` gives 0), the grid's numbers computed once and the conversions to
    // `u32` (the same values below 2^32; one instruction instead of the unsigned 64-bit
    // sequence): about half the instructions a point.
    debug_assert!(grid.ncols < 1 << 32 && grid.nrows < 1 << 32);
    let (x_min, y_min, res) = (grid.x_min, grid.y_min(), grid.res_m);
    let (ncols_f, nrows_f) = (grid.ncols as f64, grid.nrows as f64);
    let point_label: Vec<u32> = (0..points.len())
        .map(|i| {
            if points.h[i] < p.th_tree_m {
                return 0;
            }
            let c = (points.x[i] - x_min) / res;
            let k = (points.y[i] - y_min) / res;
            if c < 0.0 || k < 0.0 || c >= ncols_f || k >= nrows_f {
                0
            } else {
                labels.data[[grid.nrows - 1 - k as u32 as usize, c as u32 as usize]]
            }
        })
        .collect();
    // Tree heights from the returns within the detection window (at least one cell's
    // diagonal) around each apex.
    let apex_r: Vec<f64> = kept
        .iter()
        .map(|t| (0.5 * p.lmf.window_m(t.height_m)).max(grid.res_m * std::f64::consts::SQRT_2))
        .collect();
    let trees = metrics::tree_metrics(
        &kept,
        &labels,
        points.x,
        points.y,
        points.h,
        &point_label,
        &apex_r,
    );
    // The tops move to their apex returns (see `metrics`).
    for (t, tr) in kept.iter_mut().zip(&trees) {
        *t = TreeTop {
            id: tr.id,
            x: tr.x,
            y: tr.y,
            height_m: tr.height_m,
        };
    }
    Ok(Segmentation {
        chm,
        tops: kept,
        labels,
        point_label,
        trees,
    })
}

/// The 4-connected neighbours of cell `(r, c)` that lie in an `nr` × `nc` grid, in the order
/// up, left, right, down (the order the region growers visit them: it decides ties).
pub(crate) fn neighbours4(
    r: usize,
    c: usize,
    nr: usize,
    nc: usize,
) -> impl Iterator<Item = (usize, usize)> {
    // `wrapping_sub` turns the row/column before 0 into usize::MAX, outside any grid.
    [
        (r.wrapping_sub(1), c),
        (r, c.wrapping_sub(1)),
        (r, c + 1),
        (r + 1, c),
    ]
    .into_iter()
    .filter(move |&(a, b)| a < nr && b < nc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_depend_on_position_only_and_fit_f64() {
        let a = tree_id(974_353.34, 6_581_642.93);
        assert_eq!(a, tree_id(974_353.340_1, 6_581_642.929_9));
        assert_ne!(a, tree_id(974_353.44, 6_581_642.93));
        assert_ne!(a, tree_id(974_353.34, 6_581_643.03));
        assert!(a < (1u64 << 53) + 1);
        assert_eq!(a as f64 as u64, a);
        // Gauss-Krüger with a zone prefix and negative local coordinates still work.
        let b = tree_id(38_512_345.6, 3_400_000.0);
        assert!(b > 0 && b <= (1u64 << 53));
        let c = tree_id(-12.3, -45.6);
        assert!(c > 0 && c <= (1u64 << 53));
        assert_ne!(c, tree_id(12.3, 45.6));
    }
}
