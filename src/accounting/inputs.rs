//! Loading the density inputs named by the configuration: LiDAR rasters per pool (GeoTIFF via
//! `crate::raster`), the model file (JSON), plot and soil tables (CSV).
//!
//! Raster file names in a density folder: `agc.tif`, `bgc.tif`, `dw.tif`, `lt.tif`, `soc.tif`
//! (t C/ha per pool; any subset, at least one), `total.tif` (optional; only used to check that
//! the pools add up), `se.tif` (per-cell prediction SE of the pools' sum), `extrapolated.tif`
//! (non-zero = outside the calibration range; else `flag.tif` of `run`/`carbon`, bit 1) and
//! `model.json` (model metadata; the keys `id`, `u_pct`, `class`, `root_shoot_zone` and
//! `pool_methods` are used, every scalar key is shown in the report). The names written by
//! `landcarbon carbon` (`agc_tc_ha.tif`, …, `total_se_tc_ha.tif`) are read as well.
//!
//! See also: `config.rs` (`LidarConfig`), `density.rs` (`LidarSource`).

use super::config::{LidarConfig, YearConfig};
use super::density::LidarSource;
use super::plots::PlotTable;
use super::soil::SoilTable;
use super::{LandClass, Method};
use crate::params::Params;
use crate::raster::{read_geotiff, Raster};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// The loaded density sources of one year.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub lidar: Option<LidarSource>,
    pub plots: Option<PlotTable>,
    pub soil: Option<SoilTable>,
    /// Every raster file read (for the CRS check).
    pub raster_paths: Vec<PathBuf>,
    /// Largest |Σ pools − total| over valid cells, when a total raster was given (t C/ha).
    pub total_check_max_diff: Option<f64>,
}

fn read(path: &Path) -> Result<Raster<f64>> {
    if !path.exists() {
        return Err(Error::data(path.display(), "raster file does not exist"));
    }
    read_geotiff(path, 1)
}

/// Loads the LiDAR source of a year (`None` when no raster is configured).
///
/// A pool raster that the folder's `model.json` marks as a class default (`pool_methods`:
/// dead wood and litter written by `run`/`carbon`) is not a LiDAR value: it is read only for the
/// check against `total.tif`, and the pool comes from the account's own defaults per unit class,
/// with their uncertainty and the `default_used` flag.
pub fn load_lidar(
    cfg: &LidarConfig,
    year_label: &str,
    paths: &mut Vec<PathBuf>,
) -> Result<Option<(LidarSource, Option<f64>)>> {
    if !cfg.is_set() {
        return Ok(None);
    }
    let model_info: Option<serde_json::Value> =
        match cfg.path_of("model") {
            Some(p) => {
                let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
                Some(serde_json::from_str(&text).map_err(|e| {
                    Error::data(p.display(), format!("model file is not JSON: {e}"))
                })?)
            }
            None => None,
        };
    let pool_method = |n: &str| -> Option<String> {
        model_info
            .as_ref()?
            .get("pool_methods")?
            .get(n)?
            .as_str()
            .map(str::to_string)
    };
    let names = ["agc", "bgc", "dw", "lt", "soc"];
    let mut pools: [Option<Raster<f64>>; 5] = Default::default();
    let mut default_pools: Vec<(String, Raster<f64>)> = Vec::new();
    for (k, n) in names.iter().enumerate() {
        if let Some(p) = cfg.path_of(n) {
            let r = read(&p)?;
            paths.push(p);
            if pool_method(n).as_deref() == Some("default") {
                default_pools.push((n.to_string(), r));
            } else {
                pools[k] = Some(r);
            }
        }
    }
    let where_ = cfg
        .dir
        .as_ref()
        .map(|d| d.display().to_string())
        .or_else(|| cfg.path_of("agc").map(|p| p.display().to_string()))
        .unwrap_or_else(|| format!("LiDAR {year_label}"));
    let Some(first) = pools.iter().flatten().next() else {
        return Err(Error::data(
            &where_,
            "no LiDAR pool raster found (expected agc.tif, bgc.tif, dw.tif, lt.tif or soc.tif, not marked as a default in model.json)",
        ));
    };
    let grid = first.grid;
    let mut opt = |n: &str| -> Result<Option<Raster<f64>>> {
        match cfg.path_of(n) {
            Some(p) => {
                let r = read(&p)?;
                paths.push(p);
                Ok(Some(r))
            }
            None => Ok(None),
        }
    };
    let se = opt("se")?;
    let extrapolated = match opt("extrapolated")? {
        Some(r) => Some(r),
        None => opt("flag")?.map(|f| outside_range_mask(&f)),
    };
    let total = opt("total")?;
    let model_id = cfg
        .model_id
        .clone()
        .or_else(|| {
            model_info
                .as_ref()
                .and_then(|m| m.get("id").or_else(|| m.get("name")))
                .and_then(|v| v.as_str().map(str::to_string))
        })
        .or_else(|| cfg.path_of("model").map(|p| p.display().to_string()))
        .unwrap_or_else(|| format!("{year_label}:{where_}"));
    let model_u_pct = cfg.model_u_pct.or_else(|| {
        model_info
            .as_ref()
            .and_then(|m| m.get("u_pct"))
            .and_then(|v| v.as_f64())
    });
    let model_class = model_info
        .as_ref()
        .and_then(|m| m.get("class"))
        .and_then(|v| serde_json::from_value::<LandClass>(v.clone()).ok());
    let root_shoot_zone = model_info
        .as_ref()
        .and_then(|m| m.get("root_shoot_zone"))
        .and_then(|v| v.as_str().map(str::to_string));
    let file_method = model_info
        .as_ref()
        .and_then(|m| m.get("method"))
        .and_then(|v| v.as_str());
    let method = match (cfg.method.as_deref(), file_method) {
        (Some(c), Some(f)) if c != f => {
            return Err(Error::data(
                &where_,
                format!("lidar.method = \"{c}\" but the folder's model.json says \"{f}\""),
            ))
        }
        (Some(m), _) | (None, Some(m)) => Method::parse(m).ok_or_else(|| {
            Error::data(
                &where_,
                format!("method \"{m}\": must be lidar_aba or lidar_itd"),
            )
        })?,
        (None, None) => Method::LidarAba,
    };
    if !matches!(method, Method::LidarAba | Method::LidarItd) {
        return Err(Error::data(
            &where_,
            format!(
                "method \"{}\" is not a LiDAR method (lidar_aba, lidar_itd)",
                method.name()
            ),
        ));
    }
    let src = LidarSource {
        name: where_,
        grid,
        pools,
        se,
        extrapolated,
        classes: if cfg.classes.is_empty() {
            vec![LandClass::Forest]
        } else {
            cfg.classes.clone()
        },
        method,
        se_mode: cfg.se_mode,
        model_id,
        model_u_pct,
        min_coverage: cfg.min_coverage,
        extrapolation_flag_pct: cfg.extrapolation_flag_pct,
        model_info,
        model_class,
        root_shoot_zone,
        default_pools: default_pools.iter().map(|(n, _)| n.clone()).collect(),
    };
    src.check()?;
    // The pools (LiDAR and default rasters alike) must add up to the total raster where one is
    // given.
    let mut max_diff = None;
    if let Some(t) = &total {
        if t.grid != src.grid {
            return Err(Error::data(
                &src.name,
                "total.tif has a different grid than the pool rasters",
            ));
        }
        let all: Vec<&Raster<f64>> = src
            .pools
            .iter()
            .flatten()
            .chain(default_pools.iter().map(|(_, r)| r))
            .filter(|r| r.grid == t.grid)
            .collect();
        let mut m = 0.0f64;
        for ((r, c), tv) in t.data.indexed_iter() {
            if !tv.is_finite() || *tv == t.nodata {
                continue;
            }
            let mut s = 0.0;
            let mut ok = true;
            for p in &all {
                let v = p.data[[r, c]];
                if !v.is_finite() || v == p.nodata {
                    ok = false;
                    break;
                }
                s += v;
            }
            if ok {
                m = m.max((s - tv).abs());
            }
        }
        if m > 1e-3 {
            log::warn!(
                "{}: the pool rasters differ from total.tif by up to {m:.4} t C/ha (pools are used; is a pool missing?)",
                src.name
            );
        }
        max_diff = Some(m);
    }
    Ok(Some((src, max_diff)))
}

/// 1 where a flag raster of `run`/`carbon` has the outside-calibration-range bit, else 0;
/// NaN where the flag raster has no value.
fn outside_range_mask(flag: &Raster<f64>) -> Raster<f64> {
    use crate::biomass::predict::{flag::OUTSIDE_RANGE, FLAG_NODATA};
    let mut r = flag.clone();
    let nd = flag.nodata;
    r.data.mapv_inplace(|v| {
        if !v.is_finite() || v == nd || v == FLAG_NODATA as f64 || v < 0.0 {
            f64::NAN
        } else if (v as u32) & OUTSIDE_RANGE as u32 != 0 {
            1.0
        } else {
            0.0
        }
    });
    r.nodata = f64::NAN;
    r
}

/// Loads every source of a year.
pub fn load_year(cfg: &YearConfig, year_label: &str, params: &Params) -> Result<Sources> {
    let mut s = Sources::default();
    if let Some((l, d)) = load_lidar(&cfg.lidar, year_label, &mut s.raster_paths)? {
        s.lidar = Some(l);
        s.total_check_max_diff = d;
    }
    if let Some(p) = &cfg.plots {
        s.plots = Some(PlotTable::read(p, params)?);
    }
    if let Some(p) = &cfg.soil {
        s.soil = Some(SoilTable::read(p, &params.soc.missing_bd_policy)?);
    }
    Ok(s)
}
