//! Canopy height models (CHM): rasters of the height of the canopy surface above ground, from
//! height-normalized points.
//!
//! Two methods, as lidR's `rasterize_canopy`:
//! * [`p2r`]: highest return per cell, optionally each return spread on a small circle
//!   (lidR `p2r(subcircle)`);
//! * [`pitfree`]: Khosravipour et al. (2014) pit-free CHM from TINs of first returns above a
//!   series of height thresholds (lidR `pitfree()`),
//!
//! optionally followed by [`smooth`]ing (3×3 median or Gaussian).
//!
//! Seamless across chunks: every cell value depends only on the points around the cell (within
//! the triangle or subcircle that covers it, plus the smoothing window), never on where the
//! chunk's edge lies, and grids are aligned to multiples of `res_m`. A chunk rasterizes the cells
//! whose centres lie in its core (`Grid::covering_centres(&chunk.core, res)`) from its core and
//! buffer points, so the chunk rasters paste into one mosaic equal to the single-file raster
//! (except within about one TIN edge of the catalog's outer boundary).
//!
//! Heights come as a slice, so the caller chooses their source. Negative heights (points below
//! the terrain model) give 0 in the CHM: a canopy below ground has no meaning.
//!
//! See also: [`crate::algo::trees`] (tree tops and crowns on the CHM).

mod delaunay;
pub mod heights;
pub mod p2r;
pub mod pitfree;
pub mod smooth;

use crate::points::{class, flag, PointCloud};
use crate::raster::{Grid, Raster};
use crate::{Error, Result};

/// Nodata value of CHM rasters (cells without any return).
pub const CHM_NODATA: f32 = -9999.0;

/// `true` for a CHM cell holding a value.
#[inline]
pub fn is_valid(v: f32) -> bool {
    v != CHM_NODATA && v.is_finite()
}

/// Points with their heights above ground, as slices of equal length.
#[derive(Debug, Clone, Copy)]
pub struct HeightPoints<'a> {
    pub x: &'a [f64],
    pub y: &'a [f64],
    /// Height above ground, metres.
    pub h: &'a [f64],
    /// `true` for first (or single) returns.
    pub first_return: &'a [bool],
}

impl HeightPoints<'_> {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// `true` when there is no point.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    fn check(&self) -> Result<()> {
        let n = self.x.len();
        if self.y.len() != n || self.h.len() != n || self.first_return.len() != n {
            return Err(Error::data(
                "canopy height model",
                format!(
                    "columns differ in length (x {}, y {}, h {}, first {})",
                    n,
                    self.y.len(),
                    self.h.len(),
                    self.first_return.len()
                ),
            ));
        }
        Ok(())
    }

    /// `[xmin, ymin, xmax, ymax]` of the points, `None` when empty.
    pub fn rect(&self) -> Option<[f64; 4]> {
        if self.is_empty() {
            return None;
        }
        let mut r = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for (&x, &y) in self.x.iter().zip(self.y) {
            r[0] = r[0].min(x);
            r[1] = r[1].min(y);
            r[2] = r[2].max(x);
            r[3] = r[3].max(y);
        }
        Some(r)
    }
}

/// The owned columns of the points of a cloud that take part in canopy and tree work (see
/// [`usable`]), with their heights.
#[derive(Debug, Clone, Default)]
pub struct CanopyColumns {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub h: Vec<f64>,
    pub first_return: Vec<bool>,
    /// Index of each kept point in the source cloud.
    pub index: Vec<usize>,
}

impl CanopyColumns {
    /// Keeps the [`usable`] points of `cloud` whose height is finite.
    pub fn from_cloud(cloud: &PointCloud, height_m: &[f64]) -> Result<CanopyColumns> {
        if height_m.len() != cloud.len() {
            return Err(Error::data(
                "canopy height model",
                format!("{} points but {} heights", cloud.len(), height_m.len()),
            ));
        }
        let mut c = CanopyColumns::default();
        for (i, &h) in height_m.iter().enumerate() {
            if usable(cloud, i) && h.is_finite() {
                c.x.push(cloud.x[i]);
                c.y.push(cloud.y[i]);
                c.h.push(h);
                c.first_return.push(cloud.is_first_return(i));
                c.index.push(i);
            }
        }
        Ok(c)
    }

    /// Borrowed view.
    pub fn view(&self) -> HeightPoints<'_> {
        HeightPoints {
            x: &self.x,
            y: &self.y,
            h: &self.h,
            first_return: &self.first_return,
        }
    }
}

/// `true` for a point that takes part in the canopy: not noise (7, 18) and not withheld.
pub fn usable(cloud: &PointCloud, i: usize) -> bool {
    let c = cloud.classification[i];
    c != class::NOISE && c != class::HIGH_NOISE && cloud.flags[i] & flag::WITHHELD == 0
}

/// The CHM algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChmMethod {
    /// Highest return per cell ([`p2r`]).
    P2r,
    /// Khosravipour et al. 2014 ([`pitfree`]).
    Pitfree,
}

impl std::str::FromStr for ChmMethod {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "p2r" => Ok(ChmMethod::P2r),
            "pitfree" => Ok(ChmMethod::Pitfree),
            _ => Err(format!("unknown CHM method '{s}' (p2r or pitfree)")),
        }
    }
}

/// CHM parameters (the `[chm]` section of the configuration).
///
/// Defaults: 0.5 m cells, p2r without subcircle, pit-free thresholds `[0, 2, 5, 10, 15]` and
/// max edges `[0, 1]` (lidR's `pitfree()` defaults), no smoothing.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChmParams {
    /// Cell size, metres.
    pub res_m: f64,
    /// `p2r` or `pitfree`.
    pub method: ChmMethod,
    /// Each return is replaced by itself and 8 points on a circle of this radius (0 = off).
    pub subcircle_m: f64,
    /// Pit-free height thresholds, metres.
    pub thresholds_m: Vec<f64>,
    /// Pit-free maximum triangle edge: `[for threshold 0, for the others]` (0 = no limit).
    pub max_edge_m: [f64; 2],
    /// Smoothing applied after rasterizing.
    pub smooth: smooth::Smooth,
    /// Standard deviation of the Gaussian smoothing, metres.
    pub sigma_m: f64,
}

impl Default for ChmParams {
    fn default() -> Self {
        ChmParams {
            res_m: 0.5,
            method: ChmMethod::P2r,
            subcircle_m: 0.0,
            thresholds_m: vec![0.0, 2.0, 5.0, 10.0, 15.0],
            max_edge_m: [0.0, 1.0],
            smooth: smooth::Smooth::None,
            sigma_m: 0.5,
        }
    }
}

impl ChmParams {
    /// Checks the values are in range.
    pub fn validate(&self) -> Result<()> {
        if !(self.res_m > 0.0 && self.res_m.is_finite()) {
            return Err(Error::Config(format!(
                "chm.res_m must be positive, got {}",
                self.res_m
            )));
        }
        if !(self.subcircle_m >= 0.0 && self.subcircle_m.is_finite()) {
            return Err(Error::Config(format!(
                "chm.subcircle_m must be >= 0, got {}",
                self.subcircle_m
            )));
        }
        if self.method == ChmMethod::Pitfree {
            if self.thresholds_m.is_empty()
                || self
                    .thresholds_m
                    .iter()
                    .any(|t| !(t.is_finite() && *t >= 0.0))
            {
                return Err(Error::Config(format!(
                    "chm.thresholds_m must be non-empty and >= 0, got {:?}",
                    self.thresholds_m
                )));
            }
            if self
                .max_edge_m
                .iter()
                .any(|e| !(e.is_finite() && *e >= 0.0))
            {
                return Err(Error::Config(format!(
                    "chm.max_edge_m must be >= 0, got {:?}",
                    self.max_edge_m
                )));
            }
        }
        if self.smooth == smooth::Smooth::Gaussian && (self.sigma_m.is_nan() || self.sigma_m <= 0.0)
        {
            return Err(Error::Config(format!(
                "chm.sigma_m must be positive for Gaussian smoothing, got {}",
                self.sigma_m
            )));
        }
        Ok(())
    }

    /// Cells of margin the smoothing needs around an output grid.
    pub fn margin_cells(&self) -> usize {
        smooth::radius_cells(self.smooth, self.sigma_m, self.res_m)
    }
}

/// Rasterizes the CHM of `points` on `grid` (whose `res_m` must equal `p.res_m`).
///
/// Cells without data hold [`CHM_NODATA`]. With smoothing, the CHM is first computed on the
/// grid grown by the smoothing radius, so that the cells of `grid` are smoothed with their true
/// neighbours.
pub fn rasterize(points: &HeightPoints, grid: &Grid, p: &ChmParams) -> Result<Raster<f32>> {
    Ok(rasterize_with_raw(points, grid, p, false)?.0)
}

/// [`rasterize`], returning also the CHM before smoothing (both on `grid`): `(smoothed, raw)`;
/// without smoothing the two are equal.
pub fn rasterize_pair(
    points: &HeightPoints,
    grid: &Grid,
    p: &ChmParams,
) -> Result<(Raster<f32>, Raster<f32>)> {
    let (smoothed, raw) = rasterize_with_raw(points, grid, p, true)?;
    Ok((smoothed, raw.expect("asked for the raw CHM")))
}

/// The CHM, and the CHM before smoothing when `keep_raw` (cropped only then).
fn rasterize_with_raw(
    points: &HeightPoints,
    grid: &Grid,
    p: &ChmParams,
    keep_raw: bool,
) -> Result<(Raster<f32>, Option<Raster<f32>>)> {
    p.validate()?;
    points.check()?;
    if (grid.res_m - p.res_m).abs() > 1e-9 * p.res_m {
        return Err(Error::Config(format!(
            "CHM grid resolution {} differs from chm.res_m {}",
            grid.res_m, p.res_m
        )));
    }
    let m = p.margin_cells();
    let work = grow(grid, m);
    let mut r = match p.method {
        ChmMethod::P2r => p2r::p2r(points, &work, p.subcircle_m),
        ChmMethod::Pitfree => pitfree::pitfree(
            points,
            &work,
            &pitfree::PitfreeParams {
                thresholds_m: p.thresholds_m.clone(),
                max_edge_m: p.max_edge_m,
                subcircle_m: p.subcircle_m,
            },
        )?,
    };
    for v in r.data.iter_mut() {
        if is_valid(*v) && *v < 0.0 {
            *v = 0.0;
        }
    }
    let smoothed = smooth::smooth(&r, p.smooth, p.sigma_m);
    Ok((crop(&smoothed, grid), keep_raw.then(|| crop(&r, grid))))
}

/// `g` grown by `cells` on every side.
pub fn grow(g: &Grid, cells: usize) -> Grid {
    let d = cells as f64 * g.res_m;
    Grid {
        x_min: g.x_min - d,
        y_max: g.y_max + d,
        res_m: g.res_m,
        ncols: g.ncols + 2 * cells,
        nrows: g.nrows + 2 * cells,
    }
}

/// The cells of `r` on `grid` (aligned, same resolution); cells outside `r` are nodata.
pub fn crop(r: &Raster<f32>, grid: &Grid) -> Raster<f32> {
    if r.grid == *grid {
        return r.clone();
    }
    let mut out = Raster::filled(*grid, CHM_NODATA);
    let (dr, dc) = grid.offset_in(&r.grid);
    for row in 0..grid.nrows {
        let rr = row as i64 + dr;
        if rr < 0 || rr >= r.grid.nrows as i64 {
            continue;
        }
        for col in 0..grid.ncols {
            let cc = col as i64 + dc;
            if cc < 0 || cc >= r.grid.ncols as i64 {
                continue;
            }
            out.data[[row, col]] = r.data[[rr as usize, cc as usize]];
        }
    }
    out
}

/// The 8 points of lidR's subcircle at angles `k·π/4`, radius `r`.
pub(crate) fn subcircle_offsets(r: f64) -> [(f64, f64); 8] {
    let mut o = [(0.0, 0.0); 8];
    for (k, v) in o.iter_mut().enumerate() {
        let a = k as f64 * std::f64::consts::FRAC_PI_4;
        *v = (r * a.cos(), r * a.sin());
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_and_grow_round_trip() {
        let g = Grid {
            x_min: 10.0,
            y_max: 20.0,
            res_m: 0.5,
            ncols: 4,
            nrows: 3,
        };
        let big = grow(&g, 2);
        assert_eq!(big.ncols, 8);
        assert_eq!(big.offset_in(&big), (0, 0));
        assert_eq!(g.offset_in(&big), (2, 2));
        let mut r = Raster::filled(big, CHM_NODATA);
        r.data[[2, 2]] = 7.0;
        let c = crop(&r, &g);
        assert_eq!(c.grid, g);
        assert_eq!(c.data[[0, 0]], 7.0);
    }

    #[test]
    fn params_validate() {
        assert!(ChmParams::default().validate().is_ok());
        let bad = ChmParams {
            res_m: 0.0,
            ..Default::default()
        };
        assert!(bad.validate().is_err());
        let bad = ChmParams {
            method: ChmMethod::Pitfree,
            thresholds_m: vec![],
            ..Default::default()
        };
        assert!(bad.validate().is_err());
        assert_eq!("PitFree".parse::<ChmMethod>(), Ok(ChmMethod::Pitfree));
    }
}
