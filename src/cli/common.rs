//! Flags shared by every subcommand, logging, progress bars and error formatting.

use indicatif::{ProgressBar, ProgressStyle};
use landcarbon::catalog::{Catalog, ChunkOptions, EngineOptions, RunReport};
use landcarbon::config::Config;
use std::path::PathBuf;

/// Global flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    /// Print nothing but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log more (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Worker threads (0 = all cores).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
    /// TOML configuration file; command-line flags override its keys.
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
}

/// Catalog flags: inputs and chunking.
#[derive(Debug, Clone, clap::Args)]
pub struct CatalogArgs {
    /// LAS/LAZ files, folders, glob patterns, input lists (a text file of paths, one a line,
    /// relative to it; # comments) or virtual point clouds (.vpc, as PDAL wrench and QGIS write).
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Chunk side in metres (0 = one chunk per tile).
    #[arg(long)]
    pub chunk_size: Option<f64>,
    /// Buffer around each chunk in metres.
    #[arg(long)]
    pub buffer: Option<f64>,
    /// A tile with more points is cut automatically into buffered chunks of at most about this
    /// many points, buffers included (0 = never; by-tile chunking only).
    #[arg(long)]
    pub max_chunk_points: Option<u64>,
    /// Stop starting new chunks after the first failure.
    #[arg(long)]
    pub stop_early: bool,
}

/// How a command ended when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything succeeded.
    Complete,
    /// Some inputs or chunks failed (reported); the rest was done.
    Partial,
}

pub fn init_logging(c: &Common) {
    let level = if c.quiet {
        log::LevelFilter::Error
    } else {
        match c.verbose {
            0 => log::LevelFilter::Warn,
            1 => log::LevelFilter::Info,
            2 => log::LevelFilter::Debug,
            _ => log::LevelFilter::Trace,
        }
    };
    let _ = env_logger::Builder::new()
        .filter_level(level)
        .format_timestamp(None)
        .format_target(false)
        .try_init();
    // GDAL (and GEOS through it) print warnings on stderr by default, even under -q: route
    // them to the log. Warnings become debug messages (the validity checks of patch polygons
    // raise "Ring Self-intersection" for shapes that are then repaired and listed in the
    // report); failures are warnings (the call that failed also returns an error).
    gdal::config::set_error_handler(|class, _number, message| match class {
        gdal::errors::CplErrType::Failure | gdal::errors::CplErrType::Fatal => {
            log::warn!("gdal: {message}")
        }
        gdal::errors::CplErrType::Warning => log::debug!("gdal: {message}"),
        _ => log::trace!("gdal: {message}"),
    });
}

/// The configuration file (or defaults) with the common and catalog flags applied.
pub fn load_config(c: &Common, cat: Option<&CatalogArgs>) -> anyhow::Result<Config> {
    let mut cfg = match &c.config {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    };
    if let Some(t) = c.threads {
        cfg.threads = t;
    }
    cfg.engine.threads = cfg.threads;
    if let Some(cat) = cat {
        if let Some(s) = cat.chunk_size {
            cfg.chunk.size_m = s;
        }
        if let Some(b) = cat.buffer {
            cfg.chunk.buffer_m = b;
        }
        if let Some(n) = cat.max_chunk_points {
            cfg.chunk.max_points = n;
        }
        if cat.stop_early {
            cfg.engine.stop_early = true;
        }
    }
    Ok(cfg)
}

/// Opens the catalog named by the flags and plans its chunks.
#[allow(dead_code)] // for the catalog subcommands
pub fn open_catalog(
    args: &CatalogArgs,
    chunk: &ChunkOptions,
) -> anyhow::Result<(Catalog, Vec<landcarbon::catalog::Chunk>)> {
    let catalog = Catalog::open(&args.inputs)?;
    let plan = catalog.plan(chunk)?;
    log::info!(
        "{} tiles, {} points, CRS {}, {} chunks",
        catalog.tiles.len(),
        catalog.n_points(),
        catalog.crs.describe(),
        plan.len()
    );
    Ok((catalog, plan))
}

/// Progress over the steps of a command: an indicatif bar on the terminal, and the counters
/// of the embedder's job when the command runs in one (the Python module); a watched job's
/// progress is shown by the embedder, so no terminal bar is drawn then.
pub struct Progress {
    bar: ProgressBar,
    job: Option<std::sync::Arc<landcarbon::job::Job>>,
}

impl Progress {
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        if let Some(j) = &self.job {
            j.advance(n);
        }
    }

    pub fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
    }
}

/// A progress bar over `len` steps, hidden with `-q` or when stderr is not a terminal.
pub fn progress(c: &Common, len: u64, what: &str) -> Progress {
    let job = landcarbon::job::current();
    if let Some(j) = &job {
        j.start(len, what);
    }
    if c.quiet || job.as_ref().is_some_and(|j| j.is_watched()) {
        return Progress {
            bar: ProgressBar::hidden(),
            job,
        };
    }
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template(
            "{msg:>12} [{elapsed_precise}] {wide_bar} {pos}/{len} ({eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(what.to_string());
    Progress { bar: pb, job }
}

/// Prints the failures of a chunk run and tells whether it was complete.
pub fn report_failures<T>(c: &Common, report: &RunReport<T>, _opts: &EngineOptions) -> Outcome {
    for f in &report.failures {
        eprintln!("landcarbon: chunk failed: {}", error_chain(&f.error));
    }
    if report.skipped > 0 && !c.quiet {
        eprintln!(
            "landcarbon: {} chunks not run (--stop-early)",
            report.skipped
        );
    }
    if report.is_complete() {
        Outcome::Complete
    } else {
        Outcome::Partial
    }
}

/// An error and its causes on one line, each cause once.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !parts.iter().any(|p| p.contains(&t)) {
            parts.push(t);
        }
        cur = s.source();
    }
    parts.join(": ")
}

/// The lower-case extension of an output path (the output format).
pub fn extension(p: &std::path::Path) -> String {
    p.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

/// Refuses an output path whose extension the command cannot write (`-o chm.png`), naming the
/// accepted extensions, rather than writing another format under that name.
pub fn check_output_extension(
    p: &std::path::Path,
    what: &str,
    accepted: &[&str],
) -> anyhow::Result<()> {
    let ext = extension(p);
    if accepted.contains(&ext.as_str()) {
        return Ok(());
    }
    let list = accepted
        .iter()
        .map(|e| format!(".{e}"))
        .collect::<Vec<_>>()
        .join(", ");
    let got = if ext.is_empty() {
        "no extension".to_string()
    } else {
        format!("'.{ext}'")
    };
    anyhow::bail!(
        "{}: cannot write {what} as {got}; accepted extensions: {list}",
        p.display()
    )
}

/// Extensions of raster outputs (written as Cloud-Optimized GeoTIFF).
pub const RASTER_EXTENSIONS: &[&str] = &["tif", "tiff"];

/// The absolute, symlink-free form of a path that may not exist yet: its parent canonicalized
/// and its file name appended (an output is compared with the inputs before it is written).
fn resolved(p: &std::path::Path) -> Option<PathBuf> {
    if let Ok(c) = p.canonicalize() {
        return Some(c);
    }
    let name = p.file_name()?;
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Some(parent.canonicalize().ok()?.join(name))
}

/// Whether two paths name one file (canonicalized; the second may not exist yet).
pub fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), resolved(b)) {
        (Ok(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Refuses an output that resolves to one of the command's input files (`metrics -o
/// plots.csv --plots plots.csv` would destroy the input before anything reads it again).
/// `inputs` are (flag, path); inputs that do not exist are left to the command's own error.
pub fn refuse_input_overwrite<'a>(
    output: &std::path::Path,
    inputs: impl IntoIterator<Item = (&'a str, &'a std::path::Path)>,
) -> anyhow::Result<()> {
    for (flag, input) in inputs {
        if same_file(input, output) {
            anyhow::bail!(
                "the output {} is the input {flag} {}: it would be overwritten; choose another output",
                output.display(),
                input.display()
            );
        }
    }
    Ok(())
}

/// The files named by catalog input arguments: the tiles they expand to (folders, globs, input
/// lists, virtual point clouds), and the plain files named themselves (a list or a .vpc).
pub fn catalog_input_files(args: &CatalogArgs) -> Vec<PathBuf> {
    // The tiles (through lists and virtual point clouds too) and the files named themselves.
    let mut out = landcarbon::catalog::expand_inputs(&args.inputs).unwrap_or_default();
    for s in &args.inputs {
        let p = std::path::Path::new(s);
        if p.is_file() {
            out.push(p.to_path_buf());
        } else if !p.exists() {
            if let Ok(paths) = glob::glob(s) {
                out.extend(paths.flatten().filter(|p| p.is_file()));
            }
        }
    }
    out
}

/// [`refuse_input_overwrite`] for every output of a catalog command against its point-cloud
/// files and its configuration file.
pub fn refuse_catalog_overwrite(
    c: &Common,
    cat: &CatalogArgs,
    outputs: &[PathBuf],
) -> anyhow::Result<()> {
    let files = catalog_input_files(cat);
    let inputs: Vec<(&str, &std::path::Path)> = files
        .iter()
        .map(|p| ("point cloud", p.as_path()))
        .chain(c.config.as_deref().map(|p| ("--config", p)))
        .collect();
    for out in outputs {
        refuse_input_overwrite(out, inputs.iter().copied())?;
    }
    Ok(())
}
