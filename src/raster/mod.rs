//! Rasters: [`Raster<T>`] = an `ndarray` grid of values on a [`Grid`], with a nodata value;
//! GeoTIFF reading and writing through GDAL lives in [`gdal_io`] (the only GDAL user here).

mod gdal_io;
mod grid;

pub use gdal_io::{
    band_names, band_unit, gdal_threads, raster_crs, read_geotiff, write_geotiff,
    write_geotiff_bands, write_geotiff_bands_intermediate, MosaicWriter, RasterReader,
};
pub use grid::Grid;

use ndarray::Array2;

/// A single-band raster; `data[[row, col]]`, row 0 at the top (north).
#[derive(Debug, Clone)]
pub struct Raster<T> {
    pub grid: Grid,
    pub data: Array2<T>,
    pub nodata: T,
}

impl<T: Copy + PartialEq> Raster<T> {
    /// A raster filled with `nodata`.
    pub fn filled(grid: Grid, nodata: T) -> Self {
        Raster {
            grid,
            data: Array2::from_elem((grid.nrows, grid.ncols), nodata),
            nodata,
        }
    }

    /// Value at the cell containing `(x, y)`, `None` outside or at nodata.
    pub fn value_at(&self, x: f64, y: f64) -> Option<T> {
        let (r, c) = self.grid.cell_of(x, y)?;
        let v = self.data[[r, c]];
        (v != self.nodata).then_some(v)
    }

    /// Copies the cells of `other` (same resolution, aligned) into `self` where they overlap,
    /// skipping `other`'s nodata cells.
    pub fn paste(&mut self, other: &Raster<T>) {
        self.paste_cells(other, false)
    }

    /// Copies every cell of `other` (same resolution, aligned) into `self` where they
    /// overlap, nodata cells included (as [`MosaicWriter::paste`] does).
    pub fn paste_all(&mut self, other: &Raster<T>) {
        self.paste_cells(other, true)
    }

    fn paste_cells(&mut self, other: &Raster<T>, with_nodata: bool) {
        let (dr, dc) = other.grid.offset_in(&self.grid);
        for r in 0..other.grid.nrows {
            let rr = r as i64 + dr;
            if rr < 0 || rr >= self.grid.nrows as i64 {
                continue;
            }
            for c in 0..other.grid.ncols {
                let cc = c as i64 + dc;
                if cc < 0 || cc >= self.grid.ncols as i64 {
                    continue;
                }
                let v = other.data[[r, c]];
                if with_nodata || v != other.nodata {
                    self.data[[rr as usize, cc as usize]] = v;
                }
            }
        }
    }
}

impl Raster<f64> {
    /// Bilinear interpolation at `(x, y)` between cell centres; falls back to the cell's value
    /// where a neighbour is nodata or off the grid; `None` outside the grid or at nodata.
    pub fn bilinear(&self, x: f64, y: f64) -> Option<f64> {
        let g = &self.grid;
        let fc = (x - g.x_min) / g.res_m - 0.5;
        let fr = (g.y_max - y) / g.res_m - 0.5;
        let c0 = fc.floor();
        let r0 = fr.floor();
        let (tc, tr) = (fc - c0, fr - r0);
        let get = |r: f64, c: f64| -> Option<f64> {
            if r < 0.0 || c < 0.0 || r >= g.nrows as f64 || c >= g.ncols as f64 {
                return None;
            }
            let v = self.data[[r as usize, c as usize]];
            (v != self.nodata && v.is_finite()).then_some(v)
        };
        match (
            get(r0, c0),
            get(r0, c0 + 1.0),
            get(r0 + 1.0, c0),
            get(r0 + 1.0, c0 + 1.0),
        ) {
            (Some(a), Some(b), Some(c), Some(d)) => {
                let top = a + (b - a) * tc;
                let bot = c + (d - c) * tc;
                Some(top + (bot - top) * tr)
            }
            _ => self.value_at(x, y),
        }
    }
}
