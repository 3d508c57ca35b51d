//! `landcarbon ground`: classify ground (2), noise (7) and the rest (1) over a catalog, in
//! parallel over buffered chunks. Each chunk is classified with its buffer and only its core
//! points are written, so results do not depend on where tiles are cut. Every attribute is kept;
//! only the classification changes.
//!
//! Output: with one input and `-o` ending in `.las`/`.laz`, that file; otherwise `-o` is a
//! folder receiving one file per input tile named like the input (default by-tile chunks), or
//! `{xmin}_{ymin}.laz` per chunk when `--chunk-size` is set. A tile cut into parts (more points
//! than `[chunk] max_points`) is written as one file per part, `{stem}_{xmin}_{ymin}.laz`.

use super::common::{
    extension, load_config, progress, report_failures, same_file, CatalogArgs, Common, Outcome,
};
use landcarbon::algo::ground::{self, GroundConfig, GroundMethod, NoiseMethod};
use landcarbon::catalog;
use landcarbon::points;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub catalog: CatalogArgs,
    /// Output file (one input) or folder (files overwritten; never an input).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Ground filter: auto (default; chooses from the data), csf or smrf.
    #[arg(long, value_parser = ["auto", "csf", "smrf"])]
    pub method: Option<String>,
    /// Let every return be ground, not only last and single returns.
    #[arg(long)]
    pub all_returns: bool,
    /// Keep existing non-ground classes instead of resetting them to 1.
    #[arg(long)]
    pub keep_classes: bool,
    /// Noise flagging before the filter: none, sor, ivf or both.
    #[arg(long, value_parser = ["none", "sor", "ivf", "both"])]
    pub noise: Option<String>,

    /// CSF: cloth resolution in metres [1.0].
    #[arg(long, help_heading = "CSF")]
    pub cloth_resolution: Option<f64>,
    /// CSF: rigidness 1, 2 or 3 [3].
    #[arg(long, help_heading = "CSF")]
    pub rigidness: Option<u8>,
    /// CSF: time step [0.65].
    #[arg(long, help_heading = "CSF")]
    pub time_step: Option<f64>,
    /// CSF: maximum iterations [500].
    #[arg(long, help_heading = "CSF")]
    pub iterations: Option<usize>,
    /// CSF: class threshold in metres [0.5].
    #[arg(long, help_heading = "CSF")]
    pub class_threshold: Option<f64>,
    /// CSF: slope post-processing, true or false [true].
    #[arg(long, help_heading = "CSF")]
    pub slope_smooth: Option<bool>,

    /// SMRF and auto: cell size in metres [1.0].
    #[arg(long, help_heading = "SMRF and auto")]
    pub cell: Option<f64>,
    /// SMRF and auto: slope tolerance, rise over run [0.15] (auto: the smallest).
    #[arg(long, help_heading = "SMRF and auto")]
    pub slope: Option<f64>,
    /// SMRF and auto: maximum window radius in metres (SMRF: 18, the paper's; auto: 14).
    #[arg(long, help_heading = "SMRF and auto")]
    pub window: Option<f64>,
    /// SMRF and auto: elevation threshold in metres [0.5] (auto: at 1 point/m²).
    #[arg(long, help_heading = "SMRF and auto")]
    pub threshold: Option<f64>,
    /// SMRF and auto: elevation scalar [1.25] (auto: at 1 point/m²).
    #[arg(long, help_heading = "SMRF and auto")]
    pub scalar: Option<f64>,

    /// auto: slope tolerance per unit of local terrain slope [0.5].
    #[arg(long, help_heading = "auto")]
    pub slope_gain: Option<f64>,
    /// auto: half-width of the terrain-slope window in metres [3].
    #[arg(long, help_heading = "auto")]
    pub smooth: Option<f64>,
    /// auto: height above the wide-window surface from which a seedless patch is an object, metres [2].
    #[arg(long, help_heading = "auto")]
    pub raised: Option<f64>,
    /// auto: exponent of the point spacing the final tolerance scales with [1.5].
    #[arg(long, help_heading = "auto")]
    pub spacing_exponent: Option<f64>,
    /// SMRF: net-cutting spacing in metres, 0 = off [0].
    #[arg(long, help_heading = "SMRF")]
    pub cut: Option<f64>,
}

/// The `[ground]` configuration with the command-line flags applied.
pub fn resolve(base: &GroundConfig, a: &Args) -> anyhow::Result<GroundConfig> {
    let mut cfg = base.clone();
    if let Some(m) = &a.method {
        if cfg.method.name() != m {
            cfg.method = GroundMethod::from_name(m)?;
        }
    }
    if a.all_returns {
        cfg.last_returns = false;
    }
    if a.keep_classes {
        cfg.keep_classes = true;
    }
    if let Some(n) = &a.noise {
        cfg.noise.method = match n.as_str() {
            "none" => NoiseMethod::None,
            "sor" => NoiseMethod::Sor,
            "ivf" => NoiseMethod::Ivf,
            _ => NoiseMethod::Both,
        };
    }
    let csf_flags = [
        ("--cloth-resolution", a.cloth_resolution.is_some()),
        ("--rigidness", a.rigidness.is_some()),
        ("--time-step", a.time_step.is_some()),
        ("--iterations", a.iterations.is_some()),
        ("--class-threshold", a.class_threshold.is_some()),
        ("--slope-smooth", a.slope_smooth.is_some()),
    ];
    let shared_flags = [
        ("--cell", a.cell.is_some()),
        ("--slope", a.slope.is_some()),
        ("--window", a.window.is_some()),
        ("--threshold", a.threshold.is_some()),
        ("--scalar", a.scalar.is_some()),
    ];
    let smrf_flags = [("--cut", a.cut.is_some())];
    let auto_flags = [
        ("--slope-gain", a.slope_gain.is_some()),
        ("--smooth", a.smooth.is_some()),
        ("--raised", a.raised.is_some()),
        ("--spacing-exponent", a.spacing_exponent.is_some()),
    ];
    let method_name = cfg.method.name();
    let misplaced = |flags: &[(&str, bool)], needs: &str| -> anyhow::Result<()> {
        if let Some((f, _)) = flags.iter().find(|(_, set)| *set) {
            anyhow::bail!(
                "{f} is a parameter of {needs}, but the method is {method_name}; add --method {needs}"
            );
        }
        Ok(())
    };
    // A flag given overrides the configured value.
    fn set<T: Copy>(field: &mut T, flag: Option<T>) {
        if let Some(v) = flag {
            *field = v;
        }
    }
    match &mut cfg.method {
        GroundMethod::Csf(c) => {
            misplaced(&shared_flags, "smrf")?;
            misplaced(&smrf_flags, "smrf")?;
            misplaced(&auto_flags, "auto")?;
            set(&mut c.cloth_resolution_m, a.cloth_resolution);
            set(&mut c.rigidness, a.rigidness);
            set(&mut c.time_step, a.time_step);
            set(&mut c.iterations, a.iterations);
            set(&mut c.class_threshold_m, a.class_threshold);
            set(&mut c.slope_smooth, a.slope_smooth);
        }
        GroundMethod::Smrf(s) => {
            misplaced(&csf_flags, "csf")?;
            misplaced(&auto_flags, "auto")?;
            set(&mut s.cell_m, a.cell);
            set(&mut s.slope, a.slope);
            set(&mut s.window_m, a.window);
            set(&mut s.threshold_m, a.threshold);
            set(&mut s.scalar, a.scalar);
            set(&mut s.cut_m, a.cut);
        }
        GroundMethod::Auto(p) => {
            misplaced(&csf_flags, "csf")?;
            misplaced(&smrf_flags, "smrf")?;
            set(&mut p.cell_m, a.cell);
            set(&mut p.slope, a.slope);
            set(&mut p.window_m, a.window);
            set(&mut p.threshold_m, a.threshold);
            set(&mut p.scalar, a.scalar);
            set(&mut p.slope_gain, a.slope_gain);
            set(&mut p.smooth_m, a.smooth);
            set(&mut p.raised_m, a.raised);
            set(&mut p.spacing_exponent, a.spacing_exponent);
        }
    }
    cfg.validate()?;
    Ok(cfg)
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    let cfg = load_config(c, Some(&a.catalog))?;
    let gcfg = resolve(&cfg.ground, a)?;
    let (catalog, plan) = super::common::open_catalog(&a.catalog, &cfg.chunk)?;
    let by_tile = cfg.chunk.size_m == 0.0;
    let ext = extension(&a.output);
    let single_file = ext == "laz" || ext == "las";
    if single_file && !(catalog.tiles.len() == 1 && by_tile && plan.len() == 1) {
        let why = if !by_tile {
            ", --chunk-size".to_string()
        } else if catalog.tiles.len() == 1 {
            format!(
                ", cut into {} chunks of at most about {} points: --max-chunk-points 0 keeps it whole",
                plan.len(),
                cfg.chunk.max_points
            )
        } else {
            String::new()
        };
        anyhow::bail!(
            "-o {} is a file, but the run writes {} outputs ({} tiles{why}); give a folder",
            a.output.display(),
            plan.len(),
            catalog.tiles.len(),
        );
    }
    if !single_file {
        std::fs::create_dir_all(&a.output).map_err(|e| landcarbon::Error::io(&a.output, e))?;
    } else if let Some(parent) = a.output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| landcarbon::Error::io(parent, e))?;
    }
    let out_path = |chunk: &catalog::Chunk| -> PathBuf {
        if single_file {
            a.output.clone()
        } else if let (Some(own), None) = (chunk.own_tile, chunk.part) {
            let p: &Path = &catalog.tiles[own].path;
            a.output.join(p.file_name().unwrap_or_default())
        } else {
            a.output
                .join(format!("{}.laz", chunk.file_stem(&catalog.tiles)))
        }
    };
    // Refuse to overwrite an input.
    for chunk in &plan {
        let o = out_path(chunk);
        if let Some(t) = catalog.tiles.iter().find(|t| same_file(&t.path, &o)) {
            anyhow::bail!(
                "the output {} would overwrite the input {}",
                o.display(),
                t.path.display()
            );
        }
    }
    let t0 = Instant::now();
    log::info!("ground: {:?}", gcfg);
    let pb = progress(c, plan.len() as u64, "ground");
    let report = catalog::run(
        &catalog,
        &plan,
        &cfg.engine,
        &|_, _| pb.inc(1),
        |chunk, mut cloud| {
            if cloud.core_len() == 0 {
                return Ok(None);
            }
            let rep = ground::classify_ground(&mut cloud, &gcfg)?;
            if cloud.is_buffer.iter().any(|&b| b) {
                let keep: Vec<bool> = cloud.is_buffer.iter().map(|b| !b).collect();
                cloud.retain_mask(&keep);
            }
            if let Some(own) = chunk.own_tile {
                // Write with the tile's own header (the first tile read may be a neighbour).
                let (_, meta) = points::open(&catalog.tiles[own].path)?;
                cloud.meta = meta;
            }
            let path = out_path(chunk);
            points::write(&cloud, &path)?;
            let ng = cloud
                .classification
                .iter()
                .filter(|&&k| k == points::class::GROUND)
                .count();
            let nn = cloud
                .classification
                .iter()
                .filter(|&&k| k == points::class::NOISE)
                .count();
            log::info!(
                "{}: {} points, {} ground, {} noise; filter {:.3} s on {} candidates; {}",
                path.display(),
                cloud.len(),
                ng,
                nn,
                rep.filter_s,
                rep.n_candidates,
                rep.method
            );
            Ok(Some((cloud.len(), ng, nn)))
        },
    )?;
    pb.finish_and_clear();
    if !c.quiet {
        let (n, ng, nn) = report
            .results
            .iter()
            .filter_map(|(_, r)| *r)
            .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
        let files = report.results.iter().filter(|(_, r)| r.is_some()).count();
        eprintln!(
            "classified {n} points in {files} file(s) ({:.1} % ground, {nn} noise) in {:.2} s → {}",
            if n > 0 {
                100.0 * ng as f64 / n as f64
            } else {
                0.0
            },
            t0.elapsed().as_secs_f64(),
            a.output.display()
        );
    }
    Ok(report_failures(c, &report, &cfg.engine))
}
