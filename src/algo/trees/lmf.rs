//! Tree tops by local maximum filter (LMF), on points or on a CHM (lidR `lmf(ws, hmin = 2,
//! shape = "circular")`).
//!
//! A point (or CHM cell) is a tree top when its height is at least `hmin_m` and no other point
//! (cell) within the circular window centred on it is higher. The window diameter `ws` depends
//! on the candidate's own height `h` through one of three forms ([`WindowForm`]):
//! * `fixed`: `ws = ws_m` (lidR's documentation uses 5 m);
//! * `linear`: `ws = a·h + b`, default `0.07·h + 3` (lidR documentation example);
//! * `popescu-wynne`: `ws = 2.51503 + 0.00901·h²` — Popescu & Wynne (2004)'s crown width
//!   regression for pines and deciduous trees together, used as the window diameter;
//!
//! then clamped to `[ws_min_m, ws_max_m]` (defaults 3 m and 5 m, the range of lidR's
//! documented variable-window example). As in lidR, candidates below `hmin_m` are never tops.
//!
//! On a CHM the window always covers at least the 8 neighbouring cells (lidR's raster LMF
//! would make every cell a maximum when the window is narrower than a cell).
//!
//! Ties: two points of exactly equal height inside each other's window would both be maxima
//! under a plain "≥ all neighbours" rule; here points are ordered by (height, x, y), a total
//! order that depends only on positions, so exactly one of them is kept, whatever the input
//! order or chunking. On a CHM the same order applies to cell centres, so a flat plateau yields
//! one top.
//!
//! Reference: Popescu S.C., Wynne R.H. (2004). Seeing the trees in the forest: using lidar and
//! multispectral data fusion with local filtering and variable window size for estimating tree
//! height. Photogrammetric Engineering & Remote Sensing 70(5), 589–604.
//!
//! See also: [`super::dalponte2016`], [`super::watershed`] (crowns grown from these tops).

use super::TreeTop;
use crate::algo::canopy::is_valid;
use crate::raster::Raster;
use crate::{Error, Result};

/// How the window diameter depends on height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WindowForm {
    /// `ws = ws_m`.
    Fixed,
    /// `ws = a·h + b`.
    Linear,
    /// `ws = 2.51503 + 0.00901·h²`.
    PopescuWynne,
}

impl std::str::FromStr for WindowForm {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "fixed" => Ok(WindowForm::Fixed),
            "linear" => Ok(WindowForm::Linear),
            "popescu-wynne" | "popescu" => Ok(WindowForm::PopescuWynne),
            _ => Err(format!(
                "unknown window form '{s}' (fixed, linear or popescu-wynne)"
            )),
        }
    }
}

/// LMF parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LmfParams {
    /// Window form.
    pub window: WindowForm,
    /// Diameter of the fixed window, metres.
    pub ws_m: f64,
    /// `[a, b]` of the linear form `a·h + b`.
    pub linear: [f64; 2],
    /// Lower clamp of the window diameter, metres.
    pub ws_min_m: f64,
    /// Upper clamp of the window diameter, metres.
    pub ws_max_m: f64,
    /// Minimum tree height, metres.
    pub hmin_m: f64,
}

impl Default for LmfParams {
    fn default() -> Self {
        LmfParams {
            window: WindowForm::Linear,
            ws_m: 5.0,
            linear: [0.07, 3.0],
            ws_min_m: 3.0,
            ws_max_m: 5.0,
            hmin_m: 2.0,
        }
    }
}

impl LmfParams {
    /// Window diameter for a candidate of height `h`, metres.
    pub fn window_m(&self, h: f64) -> f64 {
        let ws = match self.window {
            WindowForm::Fixed => self.ws_m,
            WindowForm::Linear => self.linear[0] * h + self.linear[1],
            WindowForm::PopescuWynne => 2.51503 + 0.00901 * h * h,
        };
        match self.window {
            WindowForm::Fixed => ws,
            _ => ws.clamp(self.ws_min_m, self.ws_max_m),
        }
    }

    /// The largest window diameter any height can get (for buffer checks).
    pub fn max_window_m(&self) -> f64 {
        match self.window {
            WindowForm::Fixed => self.ws_m,
            _ => self.ws_max_m,
        }
    }

    /// Checks the values are in range.
    pub fn validate(&self) -> Result<()> {
        let ok = match self.window {
            WindowForm::Fixed => self.ws_m > 0.0 && self.ws_m.is_finite(),
            _ => {
                self.ws_min_m > 0.0
                    && self.ws_max_m >= self.ws_min_m
                    && self.ws_max_m.is_finite()
                    && self.linear.iter().all(|v| v.is_finite())
            }
        };
        if !ok || !self.hmin_m.is_finite() {
            return Err(Error::Config(format!(
                "invalid LMF window: form {:?}, ws_m {}, linear {:?}, clamp [{}, {}], hmin_m {}",
                self.window, self.ws_m, self.linear, self.ws_min_m, self.ws_max_m, self.hmin_m
            )));
        }
        Ok(())
    }
}

/// `true` when `(ha, xa, ya)` ranks above `(hb, xb, yb)`.
#[inline]
fn above(ha: f64, xa: f64, ya: f64, hb: f64, xb: f64, yb: f64) -> bool {
    if ha != hb {
        return ha > hb;
    }
    if xa != xb {
        return xa > xb;
    }
    ya > yb
}

/// A uniform bucket grid over point indices, for radius queries with early exit.
struct Buckets {
    x0: f64,
    y0: f64,
    cell: f64,
    nx: usize,
    ny: usize,
    start: Vec<u32>,
    items: Vec<u32>,
}

impl Buckets {
    fn new(x: &[f64], y: &[f64], cell: f64) -> Buckets {
        let (mut x0, mut y0, mut x1, mut y1) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for (&a, &b) in x.iter().zip(y) {
            x0 = x0.min(a);
            y0 = y0.min(b);
            x1 = x1.max(a);
            y1 = y1.max(b);
        }
        if x.is_empty() {
            (x0, y0, x1, y1) = (0.0, 0.0, 0.0, 0.0);
        }
        let nx = ((x1 - x0) / cell).floor() as usize + 1;
        let ny = ((y1 - y0) / cell).floor() as usize + 1;
        let key = |a: f64, b: f64| -> usize {
            let i = (((a - x0) / cell).floor() as usize).min(nx - 1);
            let j = (((b - y0) / cell).floor() as usize).min(ny - 1);
            j * nx + i
        };
        let mut count = vec![0u32; nx * ny + 1];
        for (&a, &b) in x.iter().zip(y) {
            count[key(a, b) + 1] += 1;
        }
        for k in 1..count.len() {
            count[k] += count[k - 1];
        }
        let start = count.clone();
        let mut fill = count;
        let mut items = vec![0u32; x.len()];
        for (i, (&a, &b)) in x.iter().zip(y).enumerate() {
            let k = key(a, b);
            items[fill[k] as usize] = i as u32;
            fill[k] += 1;
        }
        Buckets {
            x0,
            y0,
            cell,
            nx,
            ny,
            start,
            items,
        }
    }

    /// Calls `f(j)` for every item in the cells touching the square of half-side `r` around
    /// `(x, y)`, until `f` returns `false`; returns whether it ran to the end.
    fn all_near(&self, x: f64, y: f64, r: f64, mut f: impl FnMut(usize) -> bool) -> bool {
        let i0 = ((x - r - self.x0) / self.cell).floor().max(0.0) as usize;
        let j0 = ((y - r - self.y0) / self.cell).floor().max(0.0) as usize;
        let i1 = (((x + r - self.x0) / self.cell).floor().max(0.0) as usize).min(self.nx - 1);
        let j1 = (((y + r - self.y0) / self.cell).floor().max(0.0) as usize).min(self.ny - 1);
        for j in j0..=j1 {
            for i in i0..=i1 {
                let k = j * self.nx + i;
                for &it in &self.items[self.start[k] as usize..self.start[k + 1] as usize] {
                    if !f(it as usize) {
                        return false;
                    }
                }
            }
        }
        true
    }
}

/// Tree tops among points `(x, y, h)`.
pub fn lmf_points(x: &[f64], y: &[f64], h: &[f64], p: &LmfParams) -> Result<Vec<TreeTop>> {
    p.validate()?;
    if x.len() != y.len() || x.len() != h.len() {
        return Err(Error::data(
            "local maximum filter",
            "x, y and h differ in length",
        ));
    }
    let b = Buckets::new(x, y, 1.0);
    let mut tops = Vec::new();
    for i in 0..x.len() {
        let hi = h[i];
        if hi.is_nan() || hi < p.hmin_m {
            continue;
        }
        let r = 0.5 * p.window_m(hi);
        let r2 = r * r;
        let is_max = b.all_near(x[i], y[i], r, |j| {
            if j == i {
                return true;
            }
            let d2 = (x[j] - x[i]).powi(2) + (y[j] - y[i]).powi(2);
            !(d2 <= r2 && above(h[j], x[j], y[j], hi, x[i], y[i]))
        });
        if is_max {
            tops.push(TreeTop::new(x[i], y[i], hi));
        }
    }
    dedup(&mut tops);
    Ok(tops)
}

/// Tree tops among the cells of a CHM (at cell centres, with the cell value as height).
///
/// A cell is a top when no cell of its window ranks above it: the window's cells are tested
/// nearest first (offsets sorted by distance once per call), so that a cell on a slope, most
/// of the CHM, stops at one of its first neighbours instead of scanning the window row by
/// row. The set of cells tested, hence the result, is the row-by-row scan's.
pub fn lmf_chm(chm: &Raster<f32>, p: &LmfParams) -> Result<Vec<TreeTop>> {
    p.validate()?;
    let g = chm.grid;
    let (nr, nc) = (g.nrows as i64, g.ncols as i64);
    let min_r = g.res_m * std::f64::consts::SQRT_2;
    let radius = |v: f64| (0.5 * p.window_m(v)).max(min_r);
    // The offsets of the widest window any cell can get, with their squared distances as the
    // scan computes them, nearest first (a stable sort: ties keep the scan's order).
    // (At most 32 cells: a wider window, far beyond crown sizes, takes the plain scan.)
    let k_max = ((0.5 * p.max_window_m()).max(min_r) / g.res_m)
        .floor()
        .min(32.0) as i64;
    let nci = g.ncols as isize;
    let mut offsets: Vec<(f64, i64, i64, isize)> = Vec::new();
    for dr in -k_max..=k_max {
        for dc in -k_max..=k_max {
            if dr == 0 && dc == 0 {
                continue;
            }
            let d2 = ((dr * dr + dc * dc) as f64) * g.res_m * g.res_m;
            offsets.push((d2, dr, dc, dr as isize * nci + dc as isize));
        }
    }
    offsets.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Flat row-major cells, and the cell centres of each column and row (`g.centre`'s values).
    let data: std::borrow::Cow<[f32]> = match chm.data.as_slice() {
        Some(v) => std::borrow::Cow::Borrowed(v),
        None => std::borrow::Cow::Owned(chm.data.iter().copied().collect()),
    };
    let data: &[f32] = &data;
    let xs: Vec<f64> = (0..g.ncols).map(|c| g.centre(0, c).0).collect();
    let ys: Vec<f64> = (0..g.nrows).map(|r| g.centre(r, 0).1).collect();
    let mut tops = Vec::new();
    for row in 0..g.nrows {
        for col in 0..g.ncols {
            let i = row * g.ncols + col;
            let v = data[i];
            if !is_valid(v) || (v as f64) < p.hmin_m {
                continue;
            }
            let (cx, cy) = (xs[col], ys[row]);
            // At least the 8 neighbours, whatever the window.
            let r = radius(v as f64);
            let k = (r / g.res_m).floor() as i64;
            let r2 = r * r;
            let vh = v as f64;
            let higher_at = |j: usize, rr: usize, cc: usize| {
                let w = data[j];
                is_valid(w) && above(w as f64, xs[cc], ys[rr], vh, cx, cy)
            };
            let higher = |dr: i64, dc: i64| {
                let rr = row as i64 + dr;
                let cc = col as i64 + dc;
                if rr < 0 || rr >= nr || cc < 0 || cc >= nc {
                    return false;
                }
                higher_at((rr * nc + cc) as usize, rr as usize, cc as usize)
            };
            // Away from the grid's edges the window needs no bounds tests.
            let inside = k as usize <= row.min(col)
                && row + (k as usize) < g.nrows
                && col + (k as usize) < g.ncols;
            let is_max = if k <= k_max {
                let mut window = offsets
                    .iter()
                    .take_while(|o| o.0 <= r2)
                    .filter(|o| o.1.abs() <= k && o.2.abs() <= k);
                if inside {
                    !window.any(|&(_, dr, dc, d)| {
                        higher_at(
                            (i as isize + d) as usize,
                            (row as i64 + dr) as usize,
                            (col as i64 + dc) as usize,
                        )
                    })
                } else {
                    !window.any(|&(_, dr, dc, _)| higher(dr, dc))
                }
            } else {
                // A window wider than the precomputed offsets: the plain scan.
                !(-k..=k).any(|dr| {
                    (-k..=k).any(|dc| {
                        !(dr == 0 && dc == 0)
                            && ((dr * dr + dc * dc) as f64) * g.res_m * g.res_m <= r2
                            && higher(dr, dc)
                    })
                })
            };
            if is_max {
                tops.push(TreeTop::new(cx, cy, vh));
            }
        }
    }
    Ok(tops)
}

/// Drops duplicated tops (identical points give one tree).
fn dedup(tops: &mut Vec<TreeTop>) {
    tops.sort_by_key(|t| t.id);
    tops.dedup_by_key(|t| t.id);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::Grid;

    #[test]
    fn window_forms() {
        let mut p = LmfParams::default();
        assert!((p.window_m(10.0) - 3.7).abs() < 1e-12);
        assert_eq!(p.window_m(100.0), 5.0);
        p.window = WindowForm::PopescuWynne;
        p.ws_max_m = 20.0;
        assert!((p.window_m(20.0) - (2.51503 + 3.604)).abs() < 1e-9);
        assert_eq!(p.window_m(0.0), 3.0);
        p.window = WindowForm::Fixed;
        assert_eq!(p.window_m(50.0), 5.0);
        assert_eq!(
            "popescu_wynne".parse::<WindowForm>(),
            Ok(WindowForm::PopescuWynne)
        );
    }

    #[test]
    fn two_peaks_and_a_tie() {
        // Two cones 6 m apart, plus a duplicate of the first apex, plus a low bump.
        let mut x = vec![];
        let mut y = vec![];
        let mut h = vec![];
        for i in 0..50 {
            for j in 0..25 {
                let px = i as f64 * 0.25;
                let py = j as f64 * 0.25;
                let d1 = ((px - 3.0).powi(2) + (py - 3.0).powi(2)).sqrt();
                let d2 = ((px - 9.0).powi(2) + (py - 3.0).powi(2)).sqrt();
                x.push(px);
                y.push(py);
                h.push((15.0 - 2.0 * d1).max(12.0 - 2.0 * d2).max(0.5));
            }
        }
        // A second point at exactly the first apex's height, 0.1 m away.
        x.push(3.1);
        y.push(3.0);
        h.push(15.0);
        let p = LmfParams {
            window: WindowForm::Fixed,
            ws_m: 4.0,
            ..Default::default()
        };
        let mut tops = lmf_points(&x, &y, &h, &p).unwrap();
        tops.sort_by(|a, b| a.x.total_cmp(&b.x));
        assert_eq!(tops.len(), 2, "{tops:?}");
        // The tie is broken towards the larger x.
        assert!((tops[0].x - 3.1).abs() < 1e-9 && tops[0].height_m == 15.0);
        assert!((tops[1].x - 9.0).abs() < 1e-9 && tops[1].height_m == 12.0);
    }

    #[test]
    fn chm_plateau_gives_one_top_and_hmin_applies() {
        let g = Grid {
            x_min: 0.0,
            y_max: 5.0,
            res_m: 1.0,
            ncols: 10,
            nrows: 5,
        };
        let mut r = Raster::filled(g, 1.0f32);
        for c in 1..4 {
            r.data[[2, c]] = 10.0; // a 3-cell plateau
        }
        r.data[[2, 8]] = 1.9; // below hmin
        let p = LmfParams {
            window: WindowForm::Fixed,
            ws_m: 3.0,
            ..Default::default()
        };
        let tops = lmf_chm(&r, &p).unwrap();
        assert_eq!(tops.len(), 1);
        assert_eq!((tops[0].x, tops[0].y), (3.5, 2.5));
    }

    #[test]
    fn chm_tops_as_the_row_by_row_scan() {
        let g = Grid {
            x_min: 0.0,
            y_max: 30.0,
            res_m: 0.5,
            ncols: 70,
            nrows: 60,
        };
        let mut rnd = crate::testdata::uniform(3);
        let mut r = Raster::filled(g, 0.0f32);
        for v in r.data.iter_mut() {
            // Heights on a coarse lattice (ties), some cells without data.
            *v = if rnd() < 0.05 {
                crate::algo::canopy::CHM_NODATA
            } else {
                (rnd() * 12.0).round() as f32 * 2.0
            };
        }
        for window in [WindowForm::Linear, WindowForm::Fixed] {
            let p = LmfParams {
                window,
                linear: [0.3, 0.0],
                ws_m: 2.2,
                ws_min_m: 1.0,
                ws_max_m: 6.0,
                ..Default::default()
            };
            // Every cell of the window, row by row.
            let mut reference = Vec::new();
            for row in 0..g.nrows {
                for col in 0..g.ncols {
                    let v = r.data[[row, col]];
                    if !is_valid(v) || (v as f64) < p.hmin_m {
                        continue;
                    }
                    let (cx, cy) = g.centre(row, col);
                    let rad = (0.5 * p.window_m(v as f64)).max(g.res_m * std::f64::consts::SQRT_2);
                    let k = (rad / g.res_m).floor() as i64;
                    let higher = (-k..=k).any(|dr| {
                        (-k..=k).any(|dc| {
                            let (rr, cc) = (row as i64 + dr, col as i64 + dc);
                            if (dr, dc) == (0, 0)
                                || rr < 0
                                || cc < 0
                                || rr >= g.nrows as i64
                                || cc >= g.ncols as i64
                                || ((dr * dr + dc * dc) as f64) * g.res_m * g.res_m > rad * rad
                            {
                                return false;
                            }
                            let w = r.data[[rr as usize, cc as usize]];
                            let (wx, wy) = g.centre(rr as usize, cc as usize);
                            is_valid(w) && above(w as f64, wx, wy, v as f64, cx, cy)
                        })
                    });
                    if !higher {
                        reference.push(TreeTop::new(cx, cy, v as f64));
                    }
                }
            }
            assert!(reference.len() > 10);
            assert_eq!(lmf_chm(&r, &p).unwrap(), reference);
        }
    }
}
