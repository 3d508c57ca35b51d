//! `landcarbon metrics`: the standard ABA metric set per field plot (`--plots`, a CSV table)
//! or on an aligned grid (`--grid RES`, one multi-band GeoTIFF, band names = metric names).
//! Heights above ground come from where `chm` and `trees` take them (`--height auto`): the
//! `HeightAboveGround` dimension, else the ground surface of the class-2 points (un-normalized
//! tiles are normalized on the fly, with the `[normalize]` options, over the chunk's or plot's
//! buffer), else Z with a warning. A run record `<output stem>.run.json` is written beside the
//! output.

use super::common::{load_config, progress, report_failures, CatalogArgs, Common, Outcome};
use landcarbon::algo::canopy::heights::{self, HeightSource};
use landcarbon::algo::grid_metrics::grid_metrics;
use landcarbon::algo::metrics::{ReturnFilter, METRIC_NAMES, N_METRICS};
use landcarbon::biomass::plot_metrics::{clip_plots, plot_metrics, PlotHeights};
use landcarbon::catalog::{self, Catalog, ChunkOptions};
use landcarbon::raster::{Grid, MosaicWriter, Raster};
use landcarbon::vector::table::{fmt_num, Table};
use landcarbon::vector::{read_plots, PlotShape};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub catalog: CatalogArgs,
    /// Plot table: CSV of centres (plot_id, x, y[, radius_m] + field columns) or a
    /// GeoPackage/Shapefile of plot polygons or points. Writes one row per plot.
    #[arg(long, conflicts_with = "grid")]
    pub plots: Option<PathBuf>,
    /// Grid metrics with this cell size in metres (default of [metrics] res_m: 20).
    #[arg(long, num_args = 0..=1, default_missing_value = "0")]
    pub grid: Option<f64>,
    /// Output: .csv for plots, .tif for the grid (overwritten if it exists; never one of the inputs).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Radius (m) of circular plots without a radius column.
    #[arg(long)]
    pub radius: Option<f64>,
    /// Plot id column.
    #[arg(long)]
    pub id_col: Option<String>,
    /// Heights above ground: auto (HeightAboveGround dimension, else the ground surface of the
    /// class-2 points as `landcarbon normalize` builds it, else Z; as chm and trees), z (already
    /// normalized), ground, or dim:NAME (or NAME) for an extra-bytes dimension.
    #[arg(long)]
    pub height: Option<String>,
    /// Height break for cover, mch and density deciles (m).
    #[arg(long)]
    pub height_break: Option<f64>,
    /// Returns forming the population: all, first, last, single.
    #[arg(long)]
    pub returns: Option<ReturnFilter>,
    /// Leave returns below this height out of the population (lidaRtRee hmin).
    #[arg(long)]
    pub min_height: Option<f64>,
    /// Keep noise (classes 7, 18) and withheld points.
    #[arg(long)]
    pub keep_noise: bool,
}

/// The path of the run record beside an output.
pub fn run_record_path(output: &Path) -> PathBuf {
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "output".into());
    output.with_file_name(format!("{stem}.run.json"))
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    let mut cfg = load_config(c, Some(&a.catalog))?;
    let m = &mut cfg.metrics;
    if let Some(h) = &a.height {
        m.height = h.clone();
    }
    if let Some(v) = a.height_break {
        m.height_break_m = v;
    }
    if let Some(v) = a.returns {
        m.returns = v;
    }
    if let Some(v) = a.min_height {
        m.min_height_m = Some(v);
    }
    if a.keep_noise {
        m.drop_noise = false;
    }
    if let Some(r) = a.radius {
        m.plots.radius_m = Some(r);
    }
    if let Some(id) = &a.id_col {
        m.plots.id_col = Some(id.clone());
    }
    if let Some(g) = a.grid {
        if g > 0.0 {
            m.res_m = g;
        }
    }
    let opts = m.options();
    opts.validate()?;
    let mut inputs: Vec<(&str, PathBuf)> = super::common::catalog_input_files(&a.catalog)
        .into_iter()
        .map(|p| ("point cloud", p))
        .collect();
    if let Some(p) = &a.plots {
        inputs.push(("--plots", p.clone()));
    }
    if let Some(p) = &c.config {
        inputs.push(("--config", p.clone()));
    }
    for out in [a.output.clone(), run_record_path(&a.output)] {
        super::common::refuse_input_overwrite(&out, inputs.iter().map(|(f, p)| (*f, p.as_path())))?;
    }
    let height = m.height_source();
    match (&a.plots, a.grid) {
        (Some(p), _) => {
            super::common::check_output_extension(&a.output, "plot metrics", &["csv"])?;
            run_plots(c, a, &cfg, p, &height)
        }
        (None, Some(_)) => {
            super::common::check_output_extension(
                &a.output,
                "grid metrics",
                super::common::RASTER_EXTENSIONS,
            )?;
            run_grid(c, a, &cfg, &height)
        }
        (None, None) => {
            anyhow::bail!("give --plots TABLE (plot metrics) or --grid [RES] (grid metrics)")
        }
    }
}

fn run_plots(
    c: &Common,
    a: &Args,
    cfg: &landcarbon::config::Config,
    plots_path: &Path,
    height: &HeightSource,
) -> anyhow::Result<Outcome> {
    let t0 = Instant::now();
    let m = &cfg.metrics;
    let set = read_plots(plots_path, &m.plots)?;
    let catalog = Catalog::open(&a.catalog.inputs)?;
    let pb = progress(c, catalog.tiles.len() as u64, "plots");
    let ph = PlotHeights {
        source: height.clone(),
        normalize: cfg.normalize.clone(),
        buffer_m: a.catalog.buffer.unwrap_or(cfg.chunk.buffer_m),
    };
    let returns = clip_plots(&catalog, &set.plots, &ph, cfg.threads, &|| pb.inc(1))?;
    pb.finish_and_clear();
    let values = plot_metrics(&returns, &m.options());
    // Output: plot attributes, plot area, metrics.
    let attrs = &set.attributes;
    let keep_attr: Vec<usize> = (0..attrs.columns.len())
        .filter(|&j| {
            let dup = METRIC_NAMES.contains(&attrs.columns[j].as_str())
                || attrs.columns[j] == "plot_area_m2";
            if dup {
                log::warn!(
                    "plot table column '{}' has a metric's name: replaced by the computed metric",
                    attrs.columns[j]
                );
            }
            !dup
        })
        .collect();
    let mut columns: Vec<String> = Vec::new();
    if set.id_column.is_none() {
        columns.push("plot_id".into());
    }
    columns.extend(keep_attr.iter().map(|&j| attrs.columns[j].clone()));
    columns.push("plot_area_m2".into());
    columns.extend(METRIC_NAMES.iter().map(|s| s.to_string()));
    let mut rows = Vec::with_capacity(set.plots.len());
    let mut empty = 0;
    for (i, p) in set.plots.iter().enumerate() {
        let mut row = Vec::with_capacity(columns.len());
        if set.id_column.is_none() {
            row.push(p.id.clone());
        }
        row.extend(keep_attr.iter().map(|&j| attrs.cell(i, j).to_string()));
        row.push(fmt_num(p.shape.area_m2()));
        row.extend(values[i].iter().map(|v| fmt_num(*v)));
        if returns[i].is_empty() {
            empty += 1;
        }
        rows.push(row);
    }
    Table { columns, rows }.write_csv(&a.output)?;
    let n_returns: usize = returns.iter().map(|r| r.len()).sum();
    let record = serde_json::json!({
        "command": "metrics",
        "mode": "plots",
        "software": format!("landcarbon {}", env!("CARGO_PKG_VERSION")),
        "inputs": catalog.tiles.iter().map(|t| t.path.display().to_string()).collect::<Vec<_>>(),
        "crs": catalog.crs.describe(),
        "plots_file": plots_path.display().to_string(),
        "plots": set.plots.len(),
        "circles": set.plots.iter().filter(|p| matches!(p.shape, PlotShape::Circle { .. })).count(),
        "plots_without_returns": empty,
        "returns_in_plots": n_returns,
        "height": m.height,
        "metric_options": m.options(),
        "metric_names": METRIC_NAMES.as_slice(),
        "seconds": t0.elapsed().as_secs_f64(),
        "output": a.output.display().to_string(),
    });
    write_record(&a.output, &record)?;
    if !c.quiet {
        eprintln!(
            "{} plots ({} returns, {} without returns) -> {} in {:.2} s",
            set.plots.len(),
            n_returns,
            empty,
            a.output.display(),
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(if empty == 0 {
        Outcome::Complete
    } else {
        Outcome::Partial
    })
}

fn write_record(output: &Path, record: &serde_json::Value) -> anyhow::Result<()> {
    let p = run_record_path(output);
    std::fs::write(&p, serde_json::to_string_pretty(record)?)
        .map_err(|e| landcarbon::Error::io(&p, e))?;
    Ok(())
}

fn run_grid(
    c: &Common,
    a: &Args,
    cfg: &landcarbon::config::Config,
    height: &HeightSource,
) -> anyhow::Result<Outcome> {
    let t0 = Instant::now();
    let m = &cfg.metrics;
    let res = m.res_m;
    if !(res > 0.0 && res.is_finite()) {
        anyhow::bail!("grid cell size must be positive, got {res}");
    }
    // Cells reach half a cell beyond the chunk core, and on the plan's outer edge one cell
    // more (`Grid::chunk_cells`): the buffer must cover it.
    // A ground surface (`auto` on un-normalized tiles, `ground`) needs the chunk buffer too.
    let needs_ground = matches!(height, HeightSource::Auto | HeightSource::Ground);
    let buffer = a.catalog.buffer.unwrap_or(if needs_ground {
        (1.5 * res + 0.5).max(cfg.chunk.buffer_m)
    } else {
        1.5 * res + 0.5
    });
    if buffer < res / 2.0 {
        anyhow::bail!(
            "--buffer {buffer} is less than half a grid cell ({})",
            res / 2.0
        );
    }
    if buffer < 1.5 * res {
        log::warn!(
            "buffer {buffer} < 1.5 cells: partial cells on the catalog's outer edge miss some returns"
        );
    }
    let chunk_opts = ChunkOptions {
        buffer_m: buffer,
        ..cfg.chunk.clone()
    };
    let catalog = Catalog::open(&a.catalog.inputs)?;
    let plan = catalog.plan(&chunk_opts)?;
    if plan.is_empty() {
        anyhow::bail!("the catalog covers no grid cell");
    }
    // One grid whatever the chunking (`Grid::product`), as `dtm`, `chm` and `run`.
    let full = Grid::product(&catalog.extent(), res);
    let cores: Vec<landcarbon::catalog::Rect> = plan.iter().map(|ch| ch.core).collect();
    let chunk_grids: Vec<Grid> = (0..plan.len())
        .map(|i| full.chunk_cells(&cores, i))
        .collect();
    let names: Vec<String> = METRIC_NAMES.iter().map(|s| s.to_string()).collect();
    let nodata = m.nodata as f32;
    let mosaic = MosaicWriter::create(&a.output, full, &names, nodata, &catalog.crs)?;
    let opts = m.options();
    let pb = progress(c, plan.len() as u64, "metrics");
    let report = catalog::run(
        &catalog,
        &plan,
        &cfg.engine,
        &|_, _| pb.inc(1),
        |chunk, cloud| {
            let grid = chunk_grids[chunk.id];
            if grid.is_empty() {
                return Ok((0usize, 0usize, 0.0f64));
            }
            let h = heights::heights(&cloud, height, &cfg.normalize)?;
            let t = Instant::now();
            let gm = grid_metrics(
                &cloud.x,
                &cloud.y,
                &landcarbon::algo::metrics::Returns::from_cloud(&cloud, &h),
                &grid,
                &opts,
            );
            let secs = t.elapsed().as_secs_f64();
            let rasters: Vec<Raster<f32>> = gm.to_rasters(nodata);
            let refs: Vec<&Raster<f32>> = rasters.iter().collect();
            mosaic.paste(&refs)?;
            Ok((gm.n_points, grid.len(), secs))
        },
    )?;
    pb.finish_and_clear();
    let outcome = report_failures(c, &report, &cfg.engine);
    if report.results.is_empty() {
        anyhow::bail!("no chunk succeeded; nothing written");
    }
    mosaic.finish()?;
    let n_points: usize = report.results.iter().map(|(_, r)| r.0).sum();
    let compute_s: f64 = report.results.iter().map(|(_, r)| r.2).sum();
    let wall = t0.elapsed().as_secs_f64();
    let record = serde_json::json!({
        "command": "metrics",
        "mode": "grid",
        "software": format!("landcarbon {}", env!("CARGO_PKG_VERSION")),
        "inputs": catalog.tiles.iter().map(|t| t.path.display().to_string()).collect::<Vec<_>>(),
        "crs": catalog.crs.describe(),
        "res_m": res,
        "grid": full,
        "chunks": plan.len(),
        "chunks_failed": report.failures.len(),
        "points_binned": n_points,
        "height": m.height,
        "metric_options": opts,
        "metric_names": METRIC_NAMES.as_slice(),
        "nodata": m.nodata,
        "seconds_wall": wall,
        "seconds_metrics_cpu": compute_s,
        "metrics_seconds_per_million_points": if n_points > 0 { compute_s / n_points as f64 * 1e6 } else { f64::NAN },
        "output": a.output.display().to_string(),
    });
    write_record(&a.output, &record)?;
    if !c.quiet {
        eprintln!(
            "{} × {} cells of {res} m, {N_METRICS} bands, {n_points} points -> {} in {wall:.2} s (metrics {:.3} s per million points)",
            full.ncols,
            full.nrows,
            a.output.display(),
            compute_s / n_points.max(1) as f64 * 1e6
        );
    }
    Ok(outcome)
}
