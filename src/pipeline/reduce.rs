//! Reducers: what runs after every chunk of a survey is done. Each reads the chunks' own
//! products (never the points again) in chunk order, so the result does not depend on how the
//! chunks were scheduled, sharded or resumed: mosaics of the chunk rasters, the tree table, the
//! plot-metrics table, the calibrated model and the carbon-density rasters.

use super::chunk::{chunk_dir, PlotRow};
use crate::algo::metrics::METRIC_NAMES;
use crate::algo::trees::Tree;
use crate::biomass::calibrate::{calibrate_table, CalibrateOptions};
use crate::biomass::model::ModelFile;
use crate::biomass::predict::{
    carbon_density, nodata_as_nan, predict_agb, predictor_band_numbers, CarbonOptions,
};
use crate::params::Params;
use crate::points::Crs;
use crate::raster::{write_geotiff, Grid, MosaicWriter, Raster, RasterReader};
use crate::vector::table::fmt_num;
use crate::vector::trees_csv::TreesCsvWriter;
use crate::vector::{PlotSet, Table};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Pastes `chunks/c*/NAME.tif` of `chunk_ids` into `out/NAME.tif` (all bands, names kept), on
/// the product grid of the catalog's `extent` ([`Grid::product`], as the single-stage
/// commands). Returns `None` when no chunk wrote the product.
pub fn mosaic(
    out: &Path,
    chunk_ids: &[usize],
    name: &str,
    crs: &Crs,
    extent: &crate::catalog::Rect,
) -> Result<Option<PathBuf>> {
    let parts: Vec<PathBuf> = chunk_ids
        .iter()
        .map(|&id| chunk_dir(out, id).join(format!("{name}.tif")))
        .filter(|p| p.exists())
        .collect();
    let Some(first) = parts.first() else {
        return Ok(None);
    };
    let head = RasterReader::open(first)?;
    let names = head.band_names()?;
    let grid = Grid::product(extent, head.grid().res_m);
    let nodata = head.nodata(1)?;
    drop(head);
    let dest = out.join(format!("{name}.tif"));
    let w = MosaicWriter::create(&dest, grid, &names, nodata as f32, crs)?;
    for p in &parts {
        // One open per chunk file, not per band.
        let r = RasterReader::open(p)?;
        let bands: Vec<Raster<f32>> = (1..=names.len())
            .map(|b| r.read_f32(b))
            .collect::<Result<_>>()?;
        let refs: Vec<&Raster<f32>> = bands.iter().collect();
        w.paste(&refs)?;
    }
    w.finish()?;
    Ok(Some(dest))
}

/// Concatenates the chunks' trees into `out/trees.csv`, chunk by chunk in chunk order and by
/// tree id within a chunk, one chunk in memory at a time (a county holds tens of millions of
/// trees); returns the file and the number of trees.
pub fn trees(out: &Path, chunk_ids: &[usize]) -> Result<Option<(PathBuf, usize)>> {
    let mut ids = chunk_ids.to_vec();
    ids.sort_unstable();
    let parts: Vec<PathBuf> = ids
        .iter()
        .map(|&id| chunk_dir(out, id).join("trees.json"))
        .filter(|p| p.exists())
        .collect();
    if parts.is_empty() {
        return Ok(None);
    }
    let dest = out.join("trees.csv");
    let mut w = TreesCsvWriter::create(&dest)?;
    for p in &parts {
        let text = std::fs::read(p).map_err(|e| Error::io(p, e))?;
        let mut part: Vec<Tree> =
            serde_json::from_slice(&text).map_err(|e| Error::data(p.display(), e))?;
        part.sort_by_key(|t| t.id);
        w.write(&part)?;
    }
    let n = w.n_trees;
    w.finish()?;
    Ok(Some((dest, n)))
}

/// Joins the plots' field attributes with the metrics computed by the chunks into
/// `out/plot_metrics.csv`.
pub fn plot_table(
    out: &Path,
    chunk_ids: &[usize],
    set: &PlotSet,
) -> Result<Option<(PathBuf, Table)>> {
    let mut rows: BTreeMap<usize, PlotRow> = BTreeMap::new();
    for &id in chunk_ids {
        let p = chunk_dir(out, id).join("plots.json");
        if !p.exists() {
            continue;
        }
        let text = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        let part: Vec<PlotRow> =
            serde_json::from_slice(&text).map_err(|e| Error::data(p.display(), e))?;
        for r in part {
            rows.insert(r.plot_index, r);
        }
    }
    if rows.is_empty() {
        return Ok(None);
    }
    let attrs = &set.attributes;
    let keep: Vec<usize> = (0..attrs.columns.len())
        .filter(|&j| {
            !METRIC_NAMES.contains(&attrs.columns[j].as_str()) && attrs.columns[j] != "n_returns"
        })
        .collect();
    let mut columns: Vec<String> = Vec::new();
    if set.id_column.is_none() {
        columns.push("plot_id".into());
    }
    columns.extend(keep.iter().map(|&j| attrs.columns[j].clone()));
    columns.push("plot_area_m2".into());
    columns.push("n_returns".into());
    columns.extend(METRIC_NAMES.iter().map(|s| s.to_string()));
    let mut table_rows = Vec::new();
    for (i, plot) in set.plots.iter().enumerate() {
        let Some(r) = rows.get(&i) else {
            log::warn!(
                "plot '{}' lies outside every chunk core: no metrics",
                plot.id
            );
            continue;
        };
        let mut row = Vec::with_capacity(columns.len());
        if set.id_column.is_none() {
            row.push(plot.id.clone());
        }
        row.extend(keep.iter().map(|&j| attrs.cell(i, j).to_string()));
        row.push(fmt_num(plot.shape.area_m2()));
        row.push(r.n_returns.to_string());
        row.extend(r.metrics.iter().map(|v| fmt_num(*v)));
        table_rows.push(row);
    }
    let table = Table {
        columns,
        rows: table_rows,
    };
    let dest = out.join("plot_metrics.csv");
    table.write_csv(&dest)?;
    Ok(Some((dest, table)))
}

/// Calibrates the model of `response` on the plot table; writes `out/model/model.json` and a
/// text summary beside it.
pub fn calibrate(
    out: &Path,
    table: &Table,
    opts: &CalibrateOptions,
    source: &str,
) -> Result<(PathBuf, ModelFile)> {
    let dir = out.join("model");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let model = calibrate_table(table, opts, source)?;
    let dest = dir.join("model.json");
    model.write(&dest)?;
    let txt = dir.join("model.txt");
    std::fs::write(&txt, model.summary()).map_err(|e| Error::io(&txt, e))?;
    for m in &model.models {
        crate::biomass::figures::write_figures(m, &dest)?;
    }
    Ok((dest, model))
}

/// The predictor bands of `model` on the product grid, assembled from the chunks'
/// `chunks/c*/metrics.tif` as [`mosaic`] assembles `metrics.tif` (nodata, then each chunk's
/// cells in chunk order), nodata and non-finite values as NaN: the rasters
/// [`crate::biomass::predict::predictor_bands`] reads back from the mosaic, without inflating
/// the mosaic's pixel-interleaved blocks, which hold every band.
pub fn predictor_bands_from_chunks(
    out: &Path,
    chunk_ids: &[usize],
    model: &ModelFile,
    extent: &crate::catalog::Rect,
) -> Result<BTreeMap<String, Raster<f64>>> {
    let parts: Vec<PathBuf> = chunk_ids
        .iter()
        .map(|&id| chunk_dir(out, id).join("metrics.tif"))
        .filter(|p| p.exists())
        .collect();
    let Some(first) = parts.first() else {
        return Err(Error::data(
            out.display(),
            "no chunk has a metrics raster to predict from",
        ));
    };
    let head = RasterReader::open(first)?;
    let names = head.band_names()?;
    let grid = Grid::product(extent, head.grid().res_m);
    // The mosaic's nodata, for every band (see `mosaic`).
    let nodata = head.nodata(1)? as f32;
    let wanted = predictor_band_numbers(&names, model, first)?;
    let mut bands: Vec<Raster<f32>> = wanted
        .iter()
        .map(|_| Raster::filled(grid, nodata))
        .collect();
    for p in &parts {
        let r = RasterReader::open(p)?;
        for ((_, b), dest) in wanted.iter().zip(&mut bands) {
            dest.paste_all(&r.read_f32(*b)?);
        }
    }
    // f32 → f64 is exact, so a cell equals the nodata in f64 exactly when it does in f32.
    Ok(wanted
        .into_iter()
        .zip(bands)
        .map(|((name, _), r)| {
            let r = Raster {
                grid,
                data: r.data.mapv(f64::from),
                nodata: f64::from(r.nodata),
            };
            (name, nodata_as_nan(r))
        })
        .collect())
}

/// Carbon density per pool from the metric rasters a model needs (by name, nodata NaN:
/// [`predictor_bands_from_chunks`]) and the model: `out/carbon/{agb_t_ha, agc,
/// bgc, dw, lt, total, se, flag}.tif` (the pool names `landcarbon account` reads) and
/// `parameters.json` (each value used and where it came from).
pub fn carbon(
    out: &Path,
    bands: &BTreeMap<String, Raster<f64>>,
    model: &ModelFile,
    params: &Params,
    opts: &CarbonOptions,
    crs: &Crs,
) -> Result<PathBuf> {
    let agb = predict_agb(model, bands, None)?;
    let c = carbon_density(&agb, params, opts)?;
    let dir = out.join("carbon");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let nd = -9999.0f32;
    let put = |name: &str, v: &[f64]| {
        write_geotiff(&agb.raster(v, nd), crs, &dir.join(format!("{name}.tif")))
    };
    put("agb_t_ha", &agb.agb_t_ha)?;
    put("agc", &c.agc)?;
    put("bgc", &c.bgc)?;
    if let Some(v) = &c.dw {
        put("dw", v)?;
    }
    if let Some(v) = &c.lt {
        put("lt", v)?;
    }
    put("total", &c.total)?;
    put("se", &c.total_se)?;
    write_geotiff(&agb.flag_raster(), crs, &dir.join("flag.tif"))?;
    super::chunk::write_json(&c.parameters, &dir.join("parameters.json"))?;
    super::chunk::write_json(
        &carbon_metadata(model, params, opts, &c),
        &dir.join("model.json"),
    )?;
    Ok(dir)
}

/// [`model_metadata`] plus what `landcarbon account` needs to judge each raster of a carbon
/// folder: the class the model was calibrated for, the root-to-shoot zone, and the method of each
/// pool raster. Dead wood and litter rasters hold a class default, not a LiDAR measurement:
/// `account` takes those pools from its own defaults per unit class, with their uncertainty and
/// the `default_used` flag, instead of as LiDAR values.
pub fn carbon_metadata(
    model: &ModelFile,
    params: &Params,
    opts: &CarbonOptions,
    c: &crate::biomass::predict::CarbonGrid,
) -> serde_json::Value {
    with_carbon_keys(model_metadata(model), params, opts, c)
}

/// The keys of [`carbon_metadata`] added to any model's metadata `v` (the ITD route's too).
pub fn with_carbon_keys(
    mut v: serde_json::Value,
    params: &Params,
    opts: &CarbonOptions,
    c: &crate::biomass::predict::CarbonGrid,
) -> serde_json::Value {
    let zone = opts
        .zone
        .clone()
        .unwrap_or_else(|| params.root_shoot.default_zone.clone());
    let mut methods = serde_json::Map::new();
    methods.insert("agc".into(), "lidar".into());
    methods.insert("bgc".into(), "lidar".into());
    if c.dw.is_some() {
        methods.insert("dw".into(), "default".into());
    }
    if c.lt.is_some() {
        methods.insert("lt".into(), "default".into());
    }
    if let Some(o) = v.as_object_mut() {
        o.insert("class".into(), opts.class.name().into());
        o.insert("root_shoot_zone".into(), zone.into());
        o.insert("pool_methods".into(), serde_json::Value::Object(methods));
    }
    v
}

/// The identity of a fitted model for error propagation: a readable prefix (response, form,
/// predictors) and a hash of what makes two fits share an error — the coefficients and the
/// training plots (ids and observed values). Two surveys calibrated separately on different plots
/// get different identities even when they select the same predictors, so their model errors are
/// independent in the sink; the same model file reused for both years keeps one identity, and its
/// error is fully correlated (carbon-accounting.md §5.4).
pub fn model_identity(model: &ModelFile) -> String {
    let mut h = blake3::Hasher::new();
    let mut put = |s: &str| {
        h.update(&(s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    put(&model.response);
    for m in &model.models {
        put(m.stratum.as_deref().unwrap_or(""));
        put(&format!("{:?}", m.form));
        put(&m.predictors.join("+"));
        for c in &m.coefficients {
            put(&c.term);
            put(&format!("{:016x}", c.estimate.to_bits()));
        }
        for o in &m.observations {
            put(&o.id);
            put(&format!("{:016x}", o.observed.to_bits()));
        }
    }
    let hex = h.finalize().to_hex();
    let prefix = match model.models.first() {
        Some(m) => format!("{}_{:?}_{}", model.response, m.form, m.predictors.join("+")),
        None => model.response.clone(),
    };
    format!("{}@{}", prefix.to_lowercase(), &hex[..16])
}

/// What `landcarbon account` reads of a density folder's model: an `id` (rasters made with the
/// same id have fully correlated model errors) and `u_pct`, the model's systematic uncertainty of
/// a mean over many cells: the design-based variance s_e²/n of the model-assisted estimator
/// (carbon-accounting.md §5.3) with s_e the leave-one-out RMSE, as a 95 % half-width in percent
/// of the mean observed response. Fit statistics ride along for the report.
pub fn model_metadata(model: &ModelFile) -> serde_json::Value {
    let Some(m) = model.models.first() else {
        return serde_json::json!({ "id": "none" });
    };
    let cv = &m.loocv;
    let u_pct = if cv.n > 0 && cv.mean_observed > 0.0 {
        1.96 * cv.rmse / (cv.n as f64).sqrt() / cv.mean_observed * 100.0
    } else {
        f64::NAN
    };
    serde_json::json!({
        "id": model_identity(model),
        "u_pct": u_pct,
        "form": format!("{:?}", m.form),
        "predictors": m.predictors.join(", "),
        "n_plots": m.n,
        "r2": m.fit.r2,
        "rmse": m.fit.rmse,
        "rrmse_pct": m.fit.rrmse_pct,
        "loocv_rrmse_pct": cv.rrmse_pct,
        "loocv_bias": cv.bias,
    })
}
