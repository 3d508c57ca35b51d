//! Point-to-raster CHM: each cell takes the height of the highest return that falls in it
//! (lidR `p2r(subcircle = 0)`).
//!
//! Parameters: `subcircle_m` (default 0 = off). With a subcircle of radius r, each return also
//! lands at 8 points on a circle of radius r around it (angles k·π/4), emulating the laser
//! footprint and filling small gaps between returns.
//!
//! Departure from lidR: lidR replaces each return by the 8 circle points only; here the return
//! itself is kept as well, so its own cell never loses it when r is larger than the cell. Empty
//! cells stay nodata (lidR's optional `na.fill` interpolation is not offered; use smoothing or
//! the pit-free method).
//!
//! Reference: Roussel J.-R. et al. (2020) lidR: An R package for analysis of Airborne Laser
//! Scanning (ALS) data. Remote Sensing of Environment 251, 112061.
//!
//! See also: [`super::pitfree`], [`super::smooth`].

use super::{subcircle_offsets, HeightPoints, CHM_NODATA};
use crate::raster::{Grid, Raster};

/// Highest return per cell of `grid`.
pub fn p2r(points: &HeightPoints, grid: &Grid, subcircle_m: f64) -> Raster<f32> {
    let mut r = Raster::filled(*grid, CHM_NODATA);
    let offsets: Vec<(f64, f64)> = if subcircle_m > 0.0 {
        std::iter::once((0.0, 0.0))
            .chain(subcircle_offsets(subcircle_m))
            .collect()
    } else {
        vec![(0.0, 0.0)]
    };
    for i in 0..points.len() {
        let h = points.h[i] as f32;
        for &(dx, dy) in &offsets {
            if let Some((row, col)) = grid.cell_of(points.x[i] + dx, points.y[i] + dy) {
                let v = &mut r.data[[row, col]];
                if *v == CHM_NODATA || h > *v {
                    *v = h;
                }
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        Grid {
            x_min: 0.0,
            y_max: 2.0,
            res_m: 1.0,
            ncols: 2,
            nrows: 2,
        }
    }

    #[test]
    fn highest_per_cell() {
        let x = [0.2, 0.7, 1.5, 5.0];
        let y = [1.5, 1.2, 0.5, 0.5];
        let h = [3.0, 4.0, 2.0, 9.0];
        let f = [true; 4];
        let pts = HeightPoints {
            x: &x,
            y: &y,
            h: &h,
            first_return: &f,
        };
        let r = p2r(&pts, &grid(), 0.0);
        assert_eq!(r.data[[0, 0]], 4.0);
        assert_eq!(r.data[[1, 1]], 2.0);
        assert_eq!(r.data[[0, 1]], CHM_NODATA);
        assert_eq!(r.data[[1, 0]], CHM_NODATA);
    }

    #[test]
    fn subcircle_spreads_a_return() {
        let pts = HeightPoints {
            x: &[0.9],
            y: &[1.1],
            h: &[5.0],
            first_return: &[true],
        };
        let r = p2r(&pts, &grid(), 0.3);
        // The circle reaches the three neighbouring cells.
        assert!(r.data.iter().all(|&v| v == 5.0));
    }
}
