//! GeoTIFF through GDAL: write single- and multi-band rasters with CRS, nodata, band names and
//! units, read them back, and assemble chunk rasters into one mosaic file while the chunks run.
//!
//! Every raster product is a Cloud-Optimized GeoTIFF (GDAL's COG driver: 512-pixel tiles,
//! DEFLATE with a predictor, overviews when the raster is larger than one tile). The bands are
//! first written to a MEM dataset (or, for mosaics, a temporary tiled GTiff), then copied with
//! the COG driver to a temporary name, which is renamed onto the final name only when the copy
//! and the close succeeded (GDAL's error state checked: a failed write is never renamed into
//! place). The output is deterministic (no timestamps).

use super::{Grid, Raster};
use crate::points::write::{commit_temp, temp_path};
use crate::points::Crs;
use crate::{Error, Result};
use gdal::raster::{Buffer, GdalType, RasterCreationOptions};
use gdal::spatial_ref::SpatialRef;
use gdal::{Dataset, DriverManager, Metadata};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Options of the tiled GTiffs that are not products (a chunk's rasters, a mosaic's working
/// file): they are read back once and their encoding never reaches a product, so they get the
/// fastest DEFLATE level (or none, with `compress` false), and tiles no larger than the raster
/// (GTiff tiles are multiples of 16 pixels): a chunk's 11 × 10 cells of metrics in 256 × 256
/// tiles would compress and inflate 500 times the raster in every band.
fn creation_options(grid: &Grid, compress: bool) -> RasterCreationOptions {
    let tile = |n: usize| n.div_ceil(16).clamp(1, 16) * 16;
    let compression = if compress {
        "COMPRESS=DEFLATE\nZLEVEL=1"
    } else {
        "COMPRESS=NONE"
    };
    compression
        .lines()
        .map(str::to_string)
        .chain([
            "TILED=YES".to_string(),
            format!("BLOCKXSIZE={}", tile(grid.ncols)),
            format!("BLOCKYSIZE={}", tile(grid.nrows)),
            "INTERLEAVE=BAND".to_string(),
            "BIGTIFF=IF_SAFER".to_string(),
        ])
        .collect()
}

/// Options of the final copy with the COG driver for a raster of `size` (columns, rows).
/// Integer rasters (flags) get nearest-neighbour overviews, real ones averages (GDAL skips
/// nodata when averaging). `predictor`: TIFF's floating-point predictor (see
/// [`predictor_pays`]).
fn cog_options(integer: bool, predictor: bool, size: (usize, usize)) -> RasterCreationOptions {
    [
        "COMPRESS=DEFLATE".to_string(),
        // Level 1, not the default 6: the small county's reducers take ~10 % less CPU for
        // products 2-4 % larger (same DEFLATE stream format, readable by every reader).
        "LEVEL=1".to_string(),
        format!("PREDICTOR={}", if predictor { "YES" } else { "NO" }),
        format!("BLOCKSIZE={}", cog_block_size(size)),
        "OVERVIEWS=AUTO".to_string(),
        if integer {
            "RESAMPLING=NEAREST"
        } else {
            "RESAMPLING=AVERAGE"
        }
        .to_string(),
        "BIGTIFF=IF_SAFER".to_string(),
    ]
    .into_iter()
    .collect()
}

/// Whether TIFF's floating-point predictor is worth its cost for bands of these names: only
/// for terrain surfaces, which vary smoothly from cell to cell. Measured with the COG options
/// here: DTMs 30-40 % smaller with it (bcts_2, Topography), while CHMs (bcts_2, MixedConifer,
/// Chablais 3, the benchmark county), the metric grids and the carbon grids come out between 20 %
/// smaller and 2 % larger without it, and the predictor is ~25 % of the instructions of the
/// copy (a 1601 x 1601 CHM: 2.40 -> 1.80 G, callgrind on gdal_translate).
fn predictor_pays<'a>(mut names: impl Iterator<Item = &'a str>) -> bool {
    names.all(|n| matches!(n.to_ascii_lowercase().as_str(), "dtm" | "dsm"))
}

/// The COG tile side for a raster of `size` (columns, rows): GDAL's 512 for large rasters, but
/// no larger than the raster needs (a multiple of 16, at least the COG driver's minimum of 128).
/// Every tile is stored whole, padding included: a 41 x 41 raster of 68 metric bands in 512 x
/// 512 tiles compresses 68 MB of mostly padding (0.66 s on the small benchmark county, against
/// 0.11 s in 128 x 128 tiles, for a file 27 % smaller).
fn cog_block_size((cols, rows): (usize, usize)) -> usize {
    cols.max(rows)
        .div_ceil(16)
        .saturating_mul(16)
        .clamp(128, 512)
}

/// The unit of a product band, by its name: heights in metres, biomass in t/ha (dry matter),
/// carbon densities in t C/ha, proportions in %; empty for unitless bands (flags, ratios).
pub fn band_unit(name: &str) -> &'static str {
    let n = name.to_ascii_lowercase();
    let n = n.as_str();
    if n.ends_with("tc_ha") || matches!(n, "agc" | "bgc" | "dw" | "lt" | "total" | "se" | "soc") {
        "t C/ha"
    } else if n.ends_with("_t_ha") || n == "agb" {
        "t/ha"
    } else if matches!(n, "dtm" | "chm" | "dsm" | "zmax" | "zmean" | "zsd" | "mch")
        || (n.starts_with("zq") && n[2..].chars().all(|c| c.is_ascii_digit()))
    {
        "m"
    } else if n.starts_with("pzabove")
        || n == "pground"
        || (n.starts_with('p') && n.ends_with("th"))
    {
        "%"
    } else if n == "n" {
        "points"
    } else {
        ""
    }
}

/// Sets a band's unit (GDALSetRasterUnitType; the `gdal` crate has no wrapper).
fn set_unit(band: &gdal::raster::RasterBand, unit: &str, path: &Path) -> Result<()> {
    if unit.is_empty() {
        return Ok(());
    }
    let c = std::ffi::CString::new(unit).map_err(|e| Error::gdal(path, e))?;
    // SAFETY: the band handle is valid while `band` lives; GDAL copies the string.
    let rc = unsafe { gdal_sys::GDALSetRasterUnitType(band.c_rasterband(), c.as_ptr()) };
    if rc != gdal_sys::CPLErr::CE_None {
        return Err(Error::gdal(
            path,
            format!("cannot set the band unit '{unit}'"),
        ));
    }
    Ok(())
}

/// Copies `src` to `dest` with the COG driver and closes it, so that a failure to write (full
/// disk, driver error) is an error here rather than a truncated file.
/// The bands' names (their descriptions) choose the predictor ([`predictor_pays`]).
fn copy_to_cog(src: &Dataset, dest: &Path, integer: bool, path: &Path) -> Result<()> {
    let driver = DriverManager::get_driver_by_name("COG").map_err(|e| Error::gdal(path, e))?;
    let (cols, rows) = src.raster_size();
    let bands = (1..=src.raster_count())
        .map(|i| src.rasterband(i))
        .collect::<gdal::errors::Result<Vec<_>>>()
        .map_err(|e| Error::gdal(path, e))?;
    let names: Vec<String> = bands
        .iter()
        .map(|b| b.description().unwrap_or_default())
        .collect();
    let predictor = predictor_pays(names.iter().map(String::as_str));
    let options = cog_options(integer, predictor, (cols, rows));
    // The COG driver computes the overviews into a temporary file next to `dest`, ZSTD-
    // compressed by default; left uncompressed it costs a third of the raster's size in disk
    // for a while, and saves ~30 % of the copy's instructions (a 1601 x 1601 CHM: 1.80 -> 1.24
    // G, callgrind on gdal_translate). Only for rasters up to 2 GiB, so that a county-wide
    // mosaic does not need tens of GB of scratch.
    let cell_bytes: u64 = bands.iter().map(|b| b.band_type().bytes() as u64).sum();
    let raster_bytes = cols as u64 * rows as u64 * cell_bytes;
    let _tmp_uncompressed = (raster_bytes <= MOSAIC_UNCOMPRESSED_MAX_BYTES)
        .then(|| ThreadConfig::set("COG_TMP_COMPRESSION", "NONE"))
        .transpose()
        .map_err(|e| Error::gdal(path, e))?;
    let out = src
        .create_copy(&driver, dest, &options)
        .map_err(|e| Error::gdal(path, e))?;
    close_checked(out, path)?;
    Ok(())
}

/// Lets GDAL use `threads` threads (0 = all cores) for the rasters this thread writes while
/// the returned guard lives: the COG copies then compress their tiles and compute overviews
/// in parallel. For the reducers, which run alone after the chunks, on the engine's threads.
pub fn gdal_threads(threads: usize) -> Result<impl Drop> {
    let value = if threads == 0 {
        "ALL_CPUS".to_string()
    } else {
        threads.to_string()
    };
    ThreadConfig::set("GDAL_NUM_THREADS", &value).map_err(|e| Error::gdal("GDAL_NUM_THREADS", e))
}

/// A GDAL configuration option set on this thread only, cleared when dropped.
struct ThreadConfig(&'static str);

impl ThreadConfig {
    fn set(key: &'static str, value: &str) -> gdal::errors::Result<Self> {
        gdal::config::set_thread_local_config_option(key, value)?;
        Ok(ThreadConfig(key))
    }
}

impl Drop for ThreadConfig {
    fn drop(&mut self) {
        let _ = gdal::config::clear_thread_local_config_option(self.0);
    }
}

fn is_integer<T: GdalType>() -> bool {
    !matches!(
        T::gdal_ordinal(),
        gdal_sys::GDALDataType::GDT_Float32 | gdal_sys::GDALDataType::GDT_Float64
    )
}

/// Creates a dataset with `driver` ("MEM", or "GTiff" with [`creation_options`], DEFLATE-
/// compressed when `compress`).
fn create<T: GdalType>(
    driver: &str,
    path: &Path,
    grid: &Grid,
    bands: usize,
    crs: &Crs,
    compress: bool,
) -> Result<Dataset> {
    let (driver, options) = match driver {
        "MEM" => (
            DriverManager::get_driver_by_name("MEM").map_err(|e| Error::gdal(path, e))?,
            RasterCreationOptions::new(),
        ),
        _ => (
            DriverManager::get_driver_by_name("GTiff").map_err(|e| Error::gdal(path, e))?,
            creation_options(grid, compress),
        ),
    };
    let mut ds = driver
        .create_with_band_type_with_options::<T, _>(
            path,
            grid.ncols.max(1),
            grid.nrows.max(1),
            bands,
            &options,
        )
        .map_err(|e| Error::gdal(path, e))?;
    ds.set_geo_transform(&grid.geotransform())
        .map_err(|e| Error::gdal(path, e))?;
    if let Some(def) = crs.gdal_definition() {
        match SpatialRef::from_definition(&def) {
            Ok(srs) => ds.set_spatial_ref(&srs).map_err(|e| Error::gdal(path, e))?,
            Err(e) => log::warn!(
                "{}: CRS '{}' not understood by GDAL ({e}); raster written without CRS",
                path.display(),
                crs.describe()
            ),
        }
    }
    Ok(ds)
}

/// Writes a single-band Cloud-Optimized GeoTIFF; the band is named after the file (`chm.tif`:
/// `chm`) and gets that name's [`band_unit`].
pub fn write_geotiff<T: GdalType + Copy + Into<f64>>(
    raster: &Raster<T>,
    crs: &Crs,
    path: &Path,
) -> Result<()> {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    write_geotiff_bands(&[(name, raster)], crs, path)
}

/// Writes a multi-band Cloud-Optimized GeoTIFF; each band gets its name as description (shown
/// by `gdalinfo` and QGIS) and the name's [`band_unit`]. All bands must share one grid.
pub fn write_geotiff_bands<T: GdalType + Copy + Into<f64>>(
    bands: &[(String, &Raster<T>)],
    crs: &Crs,
    path: &Path,
) -> Result<()> {
    write_bands(bands, crs, path, true)
}

/// Writes a multi-band tiled GeoTIFF for intermediate files (a chunk's rasters, read back band
/// by band by the reducers): band-interleaved, so that reading one band decompresses only that
/// band, and without the COG copy and overviews a product needs. Same safety as
/// [`write_geotiff_bands`]: temporary name, checked close, rename.
pub fn write_geotiff_bands_intermediate<T: GdalType + Copy + Into<f64>>(
    bands: &[(String, &Raster<T>)],
    crs: &Crs,
    path: &Path,
) -> Result<()> {
    write_bands(bands, crs, path, false)
}

fn write_bands<T: GdalType + Copy + Into<f64>>(
    bands: &[(String, &Raster<T>)],
    crs: &Crs,
    path: &Path,
    cog: bool,
) -> Result<()> {
    let Some((_, first)) = bands.first() else {
        return Err(Error::Config(format!(
            "{}: no band to write",
            path.display()
        )));
    };
    let grid = first.grid;
    let tmp = tmp_tif(path);
    let result = (|| -> Result<()> {
        let ds = if cog {
            create::<T>("MEM", Path::new(""), &grid, bands.len(), crs, false)?
        } else {
            create::<T>("GTiff", &tmp, &grid, bands.len(), crs, true)?
        };
        for (i, (name, r)) in bands.iter().enumerate() {
            if r.grid != grid {
                return Err(Error::data(
                    path.display(),
                    format!("band '{name}' has a different grid"),
                ));
            }
            let mut band = ds.rasterband(i + 1).map_err(|e| Error::gdal(path, e))?;
            band.set_no_data_value(Some(r.nodata.into()))
                .map_err(|e| Error::gdal(path, e))?;
            if !name.is_empty() {
                band.set_description(name)
                    .map_err(|e| Error::gdal(path, e))?;
                set_unit(&band, band_unit(name), path)?;
            }
            if grid.is_empty() {
                continue;
            }
            let data: Vec<T> = r.data.iter().copied().collect();
            let mut buf = Buffer::new((grid.ncols, grid.nrows), data);
            band.write((0, 0), (grid.ncols, grid.nrows), &mut buf)
                .map_err(|e| Error::gdal(path, e))?;
        }
        if cog {
            copy_to_cog(&ds, &tmp, is_integer::<T>(), path)
        } else {
            close_checked(ds, path)
        }
    })();
    finish(result, &tmp, path)
}

/// Reads band `band` (1-based) of a raster file as `f64`, with its grid and nodata (NaN when
/// the file declares none). Rotated or south-up rasters are refused. To read several bands of
/// one file, open a [`RasterReader`] once instead.
pub fn read_geotiff(path: &Path, band: usize) -> Result<Raster<f64>> {
    RasterReader::open(path)?.read_f64(band)
}

/// A raster file opened once for reading several of its bands. Opening a GeoTIFF parses its
/// header and CRS, and reading a band of a pixel-interleaved file (a many-band COG) inflates
/// the blocks of every band: bands read through one reader share both (GDAL's block cache
/// holds the other bands' blocks), where one `read_geotiff` per band repeats them.
pub struct RasterReader {
    ds: Dataset,
    path: PathBuf,
    grid: Grid,
}

impl RasterReader {
    /// Opens `path`; rotated or south-up rasters are refused.
    pub fn open(path: &Path) -> Result<Self> {
        let ds = Dataset::open(path).map_err(|e| Error::gdal(path, e))?;
        let gt = ds.geo_transform().map_err(|e| Error::gdal(path, e))?;
        if gt[2] != 0.0
            || gt[4] != 0.0
            || (gt[1] + gt[5]).abs() > 1e-9 * gt[1].abs()
            || gt[1] <= 0.0
        {
            return Err(Error::data(
                path.display(),
                "only north-up rasters with square cells are supported",
            ));
        }
        let (ncols, nrows) = ds.raster_size();
        let grid = Grid {
            x_min: gt[0],
            y_max: gt[3],
            res_m: gt[1],
            ncols,
            nrows,
        };
        Ok(RasterReader {
            ds,
            path: path.to_path_buf(),
            grid,
        })
    }

    /// The grid of every band.
    pub fn grid(&self) -> Grid {
        self.grid
    }

    /// Band names (descriptions), band 1 first.
    pub fn band_names(&self) -> Result<Vec<String>> {
        (1..=self.ds.raster_count())
            .map(|i| {
                let b = self.band(i)?;
                b.description().map_err(|e| Error::gdal(&self.path, e))
            })
            .collect()
    }

    /// The nodata value of band `band` (1-based), NaN when the file declares none.
    pub fn nodata(&self, band: usize) -> Result<f64> {
        Ok(self.band(band)?.no_data_value().unwrap_or(f64::NAN))
    }

    fn band(&self, band: usize) -> Result<gdal::raster::RasterBand<'_>> {
        self.ds
            .rasterband(band)
            .map_err(|e| Error::gdal(&self.path, e))
    }

    fn values<T: GdalType + Copy>(&self, band: usize) -> Result<ndarray::Array2<T>> {
        let g = &self.grid;
        let buf = self
            .band(band)?
            .read_as::<T>((0, 0), (g.ncols, g.nrows), (g.ncols, g.nrows), None)
            .map_err(|e| Error::gdal(&self.path, e))?;
        let (_, data) = buf.into_shape_and_vec();
        ndarray::Array2::from_shape_vec((g.nrows, g.ncols), data)
            .map_err(|e| Error::data(self.path.display(), e))
    }

    /// Band `band` (1-based) as `f64`, with nodata NaN when the file declares none.
    pub fn read_f64(&self, band: usize) -> Result<Raster<f64>> {
        Ok(Raster {
            grid: self.grid,
            nodata: self.nodata(band)?,
            data: self.values::<f64>(band)?,
        })
    }

    /// Band `band` (1-based) as `f32` (GDAL converts other types as it reads, as for
    /// [`RasterReader::read_f64`]), nodata cast to `f32`.
    pub fn read_f32(&self, band: usize) -> Result<Raster<f32>> {
        Ok(Raster {
            grid: self.grid,
            nodata: self.nodata(band)? as f32,
            data: self.values::<f32>(band)?,
        })
    }
}

/// The CRS of a raster file (unknown when it declares none).
pub fn raster_crs(path: &Path) -> Result<Crs> {
    let ds = Dataset::open(path).map_err(|e| Error::gdal(path, e))?;
    let wkt = ds.projection();
    if wkt.trim().is_empty() {
        return Ok(Crs::default());
    }
    Ok(Crs {
        epsg: crate::points::crs::epsg_from_wkt(&wkt),
        wkt: Some(wkt),
    })
}

/// Band names (descriptions) of a raster file.
pub fn band_names(path: &Path) -> Result<Vec<String>> {
    RasterReader::open(path)?.band_names()
}

/// Closes a dataset being written, failing when GDAL could not write its last blocks (a full
/// disk, say), so that the caller removes the temporary file instead of renaming it in. GDAL
/// before 3.7 returns nothing from `GDALClose`: its (thread-local) last error tells instead.
fn close_checked(ds: Dataset, path: &Path) -> Result<()> {
    // SAFETY: plain calls on GDAL's thread-local error state.
    unsafe { gdal_sys::CPLErrorReset() };
    ds.close().map_err(|e| Error::gdal(path, e))?;
    let class = unsafe { gdal_sys::CPLGetLastErrorType() };
    if class >= gdal_sys::CPLErr::CE_Failure {
        let msg = unsafe { std::ffi::CStr::from_ptr(gdal_sys::CPLGetLastErrorMsg()) }
            .to_string_lossy()
            .into_owned();
        unsafe { gdal_sys::CPLErrorReset() };
        return Err(Error::Gdal {
            path: path.to_path_buf(),
            reason: format!("closing the file failed: {msg}"),
        });
    }
    Ok(())
}

fn tmp_tif(path: &Path) -> PathBuf {
    // Keep the .tif extension on the temporary name so GDAL picks the right driver.
    let t = temp_path(path);
    t.with_file_name(format!(
        "{}.tif",
        t.file_name().unwrap_or_default().to_string_lossy()
    ))
}

/// The name of the COG copy of a mosaic's working file.
fn cog_tmp(tmp: &Path) -> PathBuf {
    tmp.with_file_name(format!(
        "{}.cog.tif",
        tmp.file_stem().unwrap_or_default().to_string_lossy()
    ))
}

fn finish(result: Result<()>, tmp: &Path, path: &Path) -> Result<()> {
    match result {
        Ok(()) => commit_temp(tmp, path),
        Err(e) => {
            let _ = std::fs::remove_file(tmp);
            Err(e)
        }
    }
}

/// The largest mosaic whose working file is left uncompressed ([`MosaicWriter::create`]).
const MOSAIC_UNCOMPRESSED_MAX_BYTES: u64 = 2 << 30;

/// A GeoTIFF mosaic that chunk rasters are pasted into as the chunks finish (from any thread),
/// so the whole mosaic never sits in memory. Call [`MosaicWriter::finish`] to rename it into
/// place; dropped without `finish`, the temporary file is removed.
pub struct MosaicWriter {
    ds: Mutex<Option<Dataset>>,
    grid: Grid,
    tmp: PathBuf,
    path: PathBuf,
    bands: usize,
}

// GDAL datasets are not thread-safe; every access goes through the mutex.
unsafe impl Send for MosaicWriter {}
unsafe impl Sync for MosaicWriter {}

impl MosaicWriter {
    /// Creates the mosaic over `grid` with `band_names.len()` `f32` bands filled with `nodata`.
    pub fn create(
        path: &Path,
        grid: Grid,
        band_names: &[String],
        nodata: f32,
        crs: &Crs,
    ) -> Result<Self> {
        grid.check_size(path)?;
        let tmp = tmp_tif(path);
        // The working file is written once and read once by the COG copy: uncompressed, it
        // spares a DEFLATE pass and an inflate pass of every cell (~a quarter of the mosaic's
        // time on the benchmark county), for disk space the size of the raster; above 2 GiB
        // (a county-wide mosaic) it stays compressed, as the COG copy's own scratch does.
        let raster_bytes = (grid.ncols as u64) * (grid.nrows as u64) * 4 * band_names.len() as u64;
        let compress = raster_bytes > MOSAIC_UNCOMPRESSED_MAX_BYTES;
        let ds = create::<f32>("GTiff", &tmp, &grid, band_names.len(), crs, compress)?;
        for (i, name) in band_names.iter().enumerate() {
            let mut band = ds.rasterband(i + 1).map_err(|e| Error::gdal(path, e))?;
            band.set_no_data_value(Some(nodata as f64))
                .map_err(|e| Error::gdal(path, e))?;
            band.fill(nodata as f64, None)
                .map_err(|e| Error::gdal(path, e))?;
            if !name.is_empty() {
                band.set_description(name)
                    .map_err(|e| Error::gdal(path, e))?;
                set_unit(&band, band_unit(name), path)?;
            }
        }
        Ok(MosaicWriter {
            ds: Mutex::new(Some(ds)),
            grid,
            tmp,
            path: path.to_path_buf(),
            bands: band_names.len(),
        })
    }

    /// The mosaic's grid.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// Writes `bands` (one raster per band, all on one aligned grid) into the mosaic, clipped to
    /// its extent.
    pub fn paste(&self, bands: &[&Raster<f32>]) -> Result<()> {
        if bands.len() != self.bands {
            return Err(Error::data(
                self.path.display(),
                format!("{} bands given, mosaic has {}", bands.len(), self.bands),
            ));
        }
        let Some(first) = bands.first() else {
            return Ok(());
        };
        let g = first.grid;
        let (dr, dc) = g.offset_in(&self.grid);
        let r0 = dr.max(0);
        let c0 = dc.max(0);
        let r1 = (dr + g.nrows as i64).min(self.grid.nrows as i64);
        let c1 = (dc + g.ncols as i64).min(self.grid.ncols as i64);
        if r1 <= r0 || c1 <= c0 {
            return Ok(());
        }
        let (h, w) = ((r1 - r0) as usize, (c1 - c0) as usize);
        let guard = self
            .ds
            .lock()
            .map_err(|_| Error::data(self.path.display(), "mosaic lock poisoned"))?;
        let ds = guard
            .as_ref()
            .ok_or_else(|| Error::data(self.path.display(), "mosaic already finished"))?;
        for (i, r) in bands.iter().enumerate() {
            let mut data = Vec::with_capacity(h * w);
            for rr in r0..r1 {
                for cc in c0..c1 {
                    data.push(r.data[[(rr - dr) as usize, (cc - dc) as usize]]);
                }
            }
            let mut band = ds
                .rasterband(i + 1)
                .map_err(|e| Error::gdal(&self.path, e))?;
            let mut buf = Buffer::new((w, h), data);
            band.write((c0 as isize, r0 as isize), (w, h), &mut buf)
                .map_err(|e| Error::gdal(&self.path, e))?;
        }
        Ok(())
    }

    /// Copies the mosaic to a Cloud-Optimized GeoTIFF and renames that into place; on any
    /// error both temporary files are removed and the final name is left untouched.
    pub fn finish(self) -> Result<()> {
        let mut ds = self
            .ds
            .lock()
            .ok()
            .and_then(|mut g| g.take())
            .ok_or_else(|| Error::data(self.path.display(), "mosaic already finished"))?;
        let cog = cog_tmp(&self.tmp);
        let result = (|| -> Result<()> {
            ds.flush_cache().map_err(|e| Error::gdal(&self.path, e))?;
            copy_to_cog(&ds, &cog, false, &self.path)?;
            close_checked(ds, &self.path)
        })();
        let _ = std::fs::remove_file(&self.tmp);
        finish(result, &cog, &self.path)
    }
}

impl Drop for MosaicWriter {
    fn drop(&mut self) {
        if let Ok(mut g) = self.ds.lock() {
            if g.take().is_some() {
                let _ = std::fs::remove_file(&self.tmp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{cog_block_size, predictor_pays};

    #[test]
    fn only_terrain_surfaces_get_the_predictor() {
        assert!(predictor_pays(["dtm"].into_iter()));
        assert!(predictor_pays(["DSM"].into_iter()));
        assert!(!predictor_pays(["chm"].into_iter()));
        assert!(!predictor_pays(["dtm", "zmax"].into_iter()));
        assert!(!predictor_pays(["agc"].into_iter()));
    }

    #[test]
    fn cog_tiles_are_no_larger_than_the_raster_needs() {
        assert_eq!(cog_block_size((41, 41)), 128);
        assert_eq!(cog_block_size((1, 1)), 128);
        assert_eq!(cog_block_size((300, 41)), 304);
        assert_eq!(cog_block_size((41, 497)), 512);
        assert_eq!(cog_block_size((1601, 1601)), 512);
    }
}
