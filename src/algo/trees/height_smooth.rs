//! CHM smoothing scaled with height, for tree-top detection: each cell is replaced by the
//! Gaussian-weighted mean of the valid cells around it, with a standard deviation
//! `sigma = frac · h` of the cell's own height (truncated at 2σ, at least one cell).
//!
//! Tall trees have wide crowns whose surface carries branch-scale bumps that a fixed filter
//! either leaves (tall crowns split) or, sized for them, over-smooths the small trees between
//! them; a filter that grows with height treats both alike, as the variable-window LMF does
//! for the maxima themselves (Popescu & Wynne 2004; the same reasoning underlies the
//! height-scaled Gaussian of Jakubowski et al. 2013). Empty cells stay empty and are not used.
//!
//! References: Popescu S.C., Wynne R.H. (2004). Photogramm. Eng. Remote Sens. 70(5), 589–604.
//! Jakubowski M.K., Li W., Guo Q., Kelly M. (2013). Delineating individual trees from lidar
//! data: a comparison of vector- and raster-based segmentation approaches. Remote Sensing 5,
//! 4163–4186.
//!
//! See also: [`crate::algo::canopy::smooth`] (fixed filters), [`super::lmf`].

use crate::algo::canopy::is_valid;
use crate::raster::Raster;

/// The CHM smoothed with `sigma = frac · h` per cell (`frac ≤ 0`: unchanged).
pub fn smooth_by_height(chm: &Raster<f32>, frac: f64) -> Raster<f32> {
    if frac <= 0.0 {
        return chm.clone();
    }
    let g = chm.grid;
    let (nr, nc) = (g.nrows as i64, g.ncols as i64);
    let mut out = chm.clone();
    for row in 0..g.nrows {
        for col in 0..g.ncols {
            let v = chm.data[[row, col]];
            if !is_valid(v) || v <= 0.0 {
                continue;
            }
            let sigma_cells = (frac * v as f64 / g.res_m).max(1e-6);
            let k = ((2.0 * sigma_cells).ceil() as i64).max(1);
            let inv = 1.0 / (2.0 * sigma_cells * sigma_cells);
            let (mut sw, mut sv) = (0.0f64, 0.0f64);
            for dr in -k..=k {
                let rr = row as i64 + dr;
                if rr < 0 || rr >= nr {
                    continue;
                }
                for dc in -k..=k {
                    let cc = col as i64 + dc;
                    if cc < 0 || cc >= nc {
                        continue;
                    }
                    let d2 = (dr * dr + dc * dc) as f64;
                    if d2 > (k * k) as f64 {
                        continue;
                    }
                    let w = chm.data[[rr as usize, cc as usize]];
                    if is_valid(w) {
                        let wt = (-d2 * inv).exp();
                        sw += wt;
                        sv += wt * w as f64;
                    }
                }
            }
            out.data[[row, col]] = (sv / sw) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::Grid;

    #[test]
    fn tall_bumps_smooth_more_than_short_ones() {
        let g = Grid {
            x_min: 0.0,
            y_max: 10.0,
            res_m: 0.5,
            ncols: 40,
            nrows: 20,
        };
        // Two plateaus (5 m and 25 m) each with a 1 m single-cell spike.
        let mut r = Raster::filled(g, 0.0f32);
        for row in 0..20 {
            for col in 0..40 {
                r.data[[row, col]] = if col < 20 { 5.0 } else { 25.0 };
            }
        }
        r.data[[10, 10]] = 6.0;
        r.data[[10, 30]] = 26.0;
        r.data[[0, 0]] = crate::algo::canopy::CHM_NODATA;
        let s = smooth_by_height(&r, 0.04);
        let spike_low = s.data[[10, 10]] - 5.0;
        let spike_high = s.data[[10, 30]] - 25.0;
        assert!(
            spike_low > 0.2 && spike_high < 0.1,
            "{spike_low} {spike_high}"
        );
        assert!(!is_valid(s.data[[0, 0]]));
        assert_eq!(smooth_by_height(&r, 0.0).data, r.data);
    }
}
