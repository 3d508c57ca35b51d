//! DTM rasterization: a [`GroundSurface`] evaluated at the centre of every cell of a grid.
//!
//! Cells where the surface is undefined (no ground point within the method's `rmax_m`) get
//! [`NODATA`] (−9999), never NaN. For a catalog, each chunk rasterizes the cells whose centre
//! lies in its core ([`crate::raster::Grid::covering_centres`]) from the ground points of its core
//! *and* buffer ([`dtm_chunk`]); because the TIN and IDW evaluations do not depend on point order
//! or on which chunk made them (see [`super::tin`]), the chunk rasters tile into exactly the
//! raster a single run over the merged cloud gives, provided the buffer holds the triangles (or
//! nearest neighbours) that reach the core — lidR's default 30 m buffer does for ground point
//! spacings up to several metres.
//!
//! Parameters ([`DtmOptions`], config section `[dtm]`): `res_m = 1`, `method = "tin"`,
//! `ground_classes = [2]`, `[dtm.tin]` and `[dtm.idw]` as in [`super::tin::Tin`] and
//! [`super::idw::Idw`] (lidR defaults). lidR `rasterize_terrain(las, res = 1, algorithm = tin())`.
//!
//! See also: [`super::normalize`], [`super::compare`], `landcarbon dtm`.

use super::tin::CellCentres;
use super::{ground_mask, DtmMethod, GroundSurface, Idw, SurfaceKind, Tin};
use crate::catalog::Rect;
use crate::points::PointCloud;
use crate::raster::{Grid, Raster};
use crate::{Error, Result};
use rayon::prelude::*;

/// Value of DTM cells with no ground within reach.
pub const NODATA: f64 = -9999.0;

/// Largest chunk raster [`dtm_chunk`] makes (2²⁸ cells, 2 GiB of `f64`).
pub const MAX_CHUNK_CELLS: usize = 1 << 28;

/// DTM options (config section `[dtm]`). Defaults: lidR `rasterize_terrain(res = 1, tin())`,
/// ground class 2.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DtmOptions {
    /// Cell size (CRS units, metres).
    pub res_m: f64,
    /// `tin` or `idw`.
    pub method: SurfaceKind,
    /// Classes taken as ground (2; add 9 for water surfaces).
    pub ground_classes: Vec<u8>,
    /// TIN parameters (used when `method = "tin"`).
    pub tin: Tin,
    /// IDW parameters (used when `method = "idw"`).
    pub idw: Idw,
}

impl Default for DtmOptions {
    fn default() -> Self {
        DtmOptions {
            res_m: 1.0,
            method: SurfaceKind::Tin,
            ground_classes: super::DEFAULT_GROUND_CLASSES.to_vec(),
            tin: Tin::default(),
            idw: Idw::default(),
        }
    }
}

impl DtmOptions {
    /// The configured method with its parameters.
    pub fn method(&self) -> DtmMethod {
        self.method.with(self.tin, self.idw)
    }

    /// Checks the options are usable.
    pub fn validate(&self) -> Result<()> {
        if !(self.res_m.is_finite() && self.res_m > 0.0) {
            return Err(Error::Config(format!(
                "dtm: res_m must be positive, got {}",
                self.res_m
            )));
        }
        if self.ground_classes.is_empty() {
            return Err(Error::Config("dtm: ground_classes is empty".into()));
        }
        self.method().validate()
    }
}

/// Evaluates `surface` at every cell centre of `grid`, in parallel; undefined cells get
/// [`NODATA`]. A TIN is scan-converted triangle by triangle ([`TinSurface::rasterize`]); IDW is
/// queried cell by cell. Cell centres come from global cell indices ([`CellCentres`]), so a cell
/// has the same value whichever aligned grid (chunk or catalog) it is computed in.
pub fn rasterize(surface: &GroundSurface, grid: Grid) -> Raster<f64> {
    let data: Vec<f64> = match surface {
        GroundSurface::Tin(t) => t.rasterize(&grid, NODATA),
        GroundSurface::Idw(i) => {
            let centres = CellCentres::new(&grid);
            let ncols = grid.ncols.max(1);
            (0..grid.len())
                .into_par_iter()
                .map(|k| {
                    let (x, y) = centres.centre(k / ncols, k % ncols);
                    i.z_at(x, y).filter(|z| z.is_finite()).unwrap_or(NODATA)
                })
                .collect()
        }
    };
    let data = ndarray::Array2::from_shape_vec((grid.nrows, grid.ncols), data).expect("grid shape");
    Raster {
        grid,
        data,
        nodata: NODATA,
    }
}

/// DTM of the points of `cloud` flagged in `is_ground`, on `grid`, by `method`.
///
/// Errors when there is no ground point (or the method's parameters are invalid).
pub fn dtm(
    cloud: &PointCloud,
    is_ground: &[bool],
    grid: Grid,
    method: &DtmMethod,
) -> Result<Raster<f64>> {
    let surface = GroundSurface::from_cloud(cloud, is_ground, method)?;
    Ok(rasterize(&surface, grid))
}

/// What one chunk of a catalog DTM produced.
#[derive(Debug, Clone)]
pub struct ChunkDtm {
    /// The cells whose centres lie in the chunk's core (all nodata when `n_ground == 0`).
    pub raster: Raster<f64>,
    /// Ground points (core and buffer) that built the surface.
    pub n_ground: usize,
}

/// DTM of one chunk: the cells whose centre lies in `core`, from the ground points of the whole
/// (buffered) `cloud`. A chunk without ground points gives an all-nodata raster and
/// `n_ground = 0`, for the caller to report.
pub fn dtm_chunk(cloud: &PointCloud, core: &Rect, opts: &DtmOptions) -> Result<ChunkDtm> {
    dtm_cells(cloud, Grid::covering_centres(core, opts.res_m), opts)
}

/// DTM of one chunk on the cells `grid` it computes (of a catalog's product grid, see
/// [`Grid::chunk_cells`]), from the ground points of the whole (buffered) `cloud`; as
/// [`dtm_chunk`] otherwise.
pub fn dtm_cells(cloud: &PointCloud, grid: Grid, opts: &DtmOptions) -> Result<ChunkDtm> {
    opts.validate()?;
    if grid.len() > MAX_CHUNK_CELLS {
        return Err(Error::Config(format!(
            "dtm: a chunk of {:.0} m x {:.0} m at {} m is {} cells (more than {MAX_CHUNK_CELLS}): use a larger res_m or smaller chunks (--chunk-size)",
            grid.ncols as f64 * grid.res_m,
            grid.nrows as f64 * grid.res_m,
            opts.res_m,
            grid.len()
        )));
    }
    let mask = ground_mask(cloud, &opts.ground_classes);
    let n_ground = mask.iter().filter(|g| **g).count();
    if n_ground == 0 {
        return Ok(ChunkDtm {
            raster: Raster::filled(grid, NODATA),
            n_ground,
        });
    }
    let raster = dtm(cloud, &mask, grid, &opts.method())?;
    Ok(ChunkDtm { raster, n_ground })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{generate, SynthParams};

    fn small_scene() -> (PointCloud, SynthParams) {
        let p = SynthParams {
            size_m: [60.0, 60.0],
            pulses_per_m2: 4.0,
            ..SynthParams::default()
        };
        (generate(&p).0, p)
    }

    #[test]
    fn tin_and_idw_dtm_follow_the_synthetic_terrain() {
        let (cloud, p) = small_scene();
        let mask = ground_mask(&cloud, &[2]);
        let core = [
            p.origin[0],
            p.origin[1],
            p.origin[0] + p.size_m[0],
            p.origin[1] + p.size_m[1],
        ];
        let grid = Grid::covering_centres(&core, 1.0);
        for (method, tol_rmse) in [
            (DtmMethod::default(), 0.025),
            (DtmMethod::Idw(Idw::default()), 0.04),
        ] {
            let r = dtm(&cloud, &mask, grid, &method).unwrap();
            let mut se = 0.0;
            let mut n = 0usize;
            for row in 0..grid.nrows {
                for col in 0..grid.ncols {
                    let v = r.data[[row, col]];
                    assert!(v.is_finite() && v != NODATA, "{method:?} cell {row},{col}");
                    let (x, y) = grid.centre(row, col);
                    se += (v - p.terrain_z(x, y)).powi(2);
                    n += 1;
                }
            }
            let rmse = (se / n as f64).sqrt();
            assert!(rmse < tol_rmse, "{}: rmse {rmse}", method.describe());
        }
    }

    #[test]
    fn cells_far_from_ground_are_nodata_not_nan() {
        let (cloud, p) = small_scene();
        let mask = ground_mask(&cloud, &[2]);
        // A grid extending 200 m east of the scene: beyond rmax = 50 m it must be nodata.
        let core = [
            p.origin[0],
            p.origin[1],
            p.origin[0] + 260.0,
            p.origin[1] + 10.0,
        ];
        let grid = Grid::covering_centres(&core, 2.0);
        for method in [DtmMethod::default(), DtmMethod::Idw(Idw::default())] {
            let r = dtm(&cloud, &mask, grid, &method).unwrap();
            assert!(r.data.iter().all(|v| v.is_finite()));
            let (_, far) = grid
                .cell_of(p.origin[0] + 250.0, p.origin[1] + 5.0)
                .unwrap();
            assert_eq!(r.data[[0, far]], NODATA);
            let (_, near) = grid.cell_of(p.origin[0] + 61.0, p.origin[1] + 5.0).unwrap();
            assert_ne!(r.data[[0, near]], NODATA);
        }
    }

    #[test]
    fn config_sections_parse_and_reject_typos() {
        let cfg: crate::config::Config = toml::from_str(
            r#"
            [dtm]
            res_m = 0.5
            method = "idw"
            ground_classes = [2, 9]
            [dtm.idw]
            k = 8
            [dtm.tin.extrapolation]
            rmax_m = 20.0
            [normalize]
            as_extra_bytes = true
            dtm = "dtm.tif"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.dtm.res_m, 0.5);
        assert_eq!(cfg.dtm.ground_classes, vec![2, 9]);
        assert_eq!(
            cfg.dtm.method(),
            DtmMethod::Idw(Idw {
                k: 8,
                ..Idw::default()
            })
        );
        assert_eq!(cfg.dtm.tin.extrapolation.rmax_m, 20.0);
        assert_eq!(cfg.dtm.tin.extrapolation.k, 3);
        assert!(cfg.normalize.as_extra_bytes);
        assert_eq!(
            cfg.normalize.dtm.as_deref(),
            Some(std::path::Path::new("dtm.tif"))
        );
        assert_eq!(cfg.normalize.method(), DtmMethod::default());
        for bad in [
            "[dtm]\nresolution = 1.0",
            "[dtm]\nmethod = \"kriging\"",
            "[normalize]\nas_z = true",
        ] {
            assert!(
                toml::from_str::<crate::config::Config>(bad).is_err(),
                "{bad}"
            );
        }
        let bad_res = DtmOptions {
            res_m: 0.0,
            ..DtmOptions::default()
        };
        assert!(bad_res.validate().is_err());
        // A typo'd resolution is refused before allocating 10^10 cells.
        let (cloud, _) = small_scene();
        let tiny = DtmOptions {
            res_m: 0.001,
            ..DtmOptions::default()
        };
        let e = dtm_chunk(&cloud, &[0.0, 0.0, 100.0, 100.0], &tiny).unwrap_err();
        assert!(e.to_string().contains("larger res_m"), "{e}");
    }

    #[test]
    fn chunk_without_ground_is_all_nodata() {
        let (mut cloud, _) = small_scene();
        for c in cloud.classification.iter_mut() {
            *c = 1;
        }
        let out = dtm_chunk(
            &cloud,
            &[500_000.0, 3_400_000.0, 500_010.0, 3_400_010.0],
            &DtmOptions::default(),
        )
        .unwrap();
        assert_eq!(out.n_ground, 0);
        assert_eq!(out.raster.grid.len(), 100);
        assert!(out.raster.data.iter().all(|v| *v == NODATA));
        let mask = vec![false; cloud.len()];
        assert!(dtm(&cloud, &mask, out.raster.grid, &DtmMethod::default()).is_err());
    }

    #[test]
    fn one_height_and_few_points_give_sensible_rasters() {
        let (mut cloud, p) = small_scene();
        let core = [
            p.origin[0],
            p.origin[1],
            p.origin[0] + 20.0,
            p.origin[1] + 20.0,
        ];
        let grid = Grid::covering_centres(&core, 1.0);
        // Flat ground at one height: the DTM is that height everywhere.
        for z in cloud.z.iter_mut() {
            *z = 250.0;
        }
        let mask = ground_mask(&cloud, &[2]);
        for method in [DtmMethod::default(), DtmMethod::Idw(Idw::default())] {
            let r = dtm(&cloud, &mask, grid, &method).unwrap();
            assert!(r.data.iter().all(|v| (*v - 250.0).abs() < 1e-9));
        }
        // 1, 2 and 3 ground points: finite everywhere within rmax, bounded by their heights.
        for n in 1..=3usize {
            let idx: Vec<usize> = (0..n).map(|i| i * 37).collect();
            let mut few = cloud.select(&idx);
            for (i, z) in few.z.iter_mut().enumerate() {
                *z = 100.0 + i as f64;
            }
            for c in few.classification.iter_mut() {
                *c = 2;
            }
            let mask = vec![true; few.len()];
            let r = dtm(&few, &mask, grid, &DtmMethod::default()).unwrap();
            for v in r.data.iter() {
                assert!(v.is_finite(), "n = {n}");
                assert!(*v >= 100.0 - 1e-9 && *v <= 100.0 + (n - 1) as f64 + 1e-9);
            }
        }
    }
}
