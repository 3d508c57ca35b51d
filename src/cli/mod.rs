//! Command-line layer: one file per subcommand. The only place that knows clap and indicatif.

mod account;
mod calibrate;
mod carbon;
mod carbon_itd;
mod chm;
mod classify_veg;
mod common;
mod defaults;
mod dtm;
mod eval;
mod eval_dtm;
mod eval_ground;
mod eval_trees;
mod ground;
mod heights;
mod info;
mod metrics;
mod normalize;
mod run;
mod synth_county;
mod synth_demo;
mod tile;
mod trees;

use clap::{Parser, Subcommand};
pub use common::{Common, Outcome};

/// landcarbon — airborne LiDAR tiles to land carbon stocks and sinks.
#[derive(Debug, Parser)]
#[command(name = "landcarbon", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Describe LAS/LAZ files: version, format, counts, bounds, CRS, density, class and return histograms.
    Info(info::Args),
    /// Retile a catalog into square tiles, optionally with a buffer (like lastile).
    Tile(tile::Args),
    /// Classify ground (2), noise (7) and the rest (1) with CSF, SMRF or the automatic mode.
    Ground(ground::Args),
    /// Digital terrain model from ground points (TIN or IDW) over a catalog, as one GeoTIFF.
    Dtm(dtm::Args),
    /// Height above ground for every point, as Z or as extra bytes `HeightAboveGround`.
    Normalize(normalize::Args),
    /// Classify vegetation by height above ground into low (3), medium (4) and high (5).
    ClassifyVeg(classify_veg::Args),
    /// Canopy height model GeoTIFF (p2r or pit-free), seamless over a catalog.
    Chm(chm::Args),
    /// Individual trees: tops, crowns, tree table (CSV/GeoPackage), per-point tree IDs.
    Trees(trees::Args),
    /// Write the demo's synthetic county, two LiDAR surveys, field plots and pipeline.toml.
    SynthDemo(synth_demo::Args),
    /// The whole chain over one or two surveys: tiles to carbon density, tables and report.
    Run(run::Args),
    /// Shard a pipeline for a cluster: chunks balanced by points into N array tasks.
    Plan(run::PlanArgs),
    /// Run the reducers and the accounting once every shard of a pipeline is done.
    Merge(run::MergeArgs),
    /// Accuracy of products against references (ground, dtm, trees).
    Eval(eval::Args),
    /// Standard ABA metrics per field plot (--plots) or on a grid (--grid), on heights above ground (normalized on the fly as chm and trees do).
    Metrics(metrics::Args),
    /// Fit a plot-level biomass model (log-log best subset, power NLS) with LOOCV statistics.
    Calibrate(calibrate::Args),
    /// Predict AGB on grid metrics and carbon density per pool (AGC, BGC, DW, LT, total, SE).
    Carbon(carbon::Args),
    /// Patch-level carbon accounting of two land-survey years: overlay, stocks, sink, county totals, uncertainty, tables F-1/F-2/F-3, GeoPackage, report.
    Account(account::Args),
    /// Write a seeded synthetic county (patches of two years, density rasters, plot and soil tables, account.toml).
    SynthCounty(synth_county::Args),
}

/// Parses the command line, with every flag's default shown in `--help`.
pub fn parse() -> Cli {
    parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
}

/// Parses `args` (the program name first) like [`parse`], returning clap's error (which also
/// carries `--help` and `--version`) instead of exiting; the Python module's entry point.
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::FromArgMatches;
    let matches = command().try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// Runs the command and returns the process exit code.
pub fn main(cli: Cli) -> i32 {
    init_logging(&cli.common);
    match dispatch(&cli) {
        Ok(Outcome::Complete) => 0,
        Ok(Outcome::Partial) => 1,
        Err(e) => {
            eprintln!("landcarbon: error: {}", error_chain(e.as_ref()));
            2
        }
    }
}

/// Runs the command (logging already set up) and returns how it ended.
pub fn dispatch(cli: &Cli) -> anyhow::Result<Outcome> {
    match &cli.command {
        Command::Info(a) => info::run(&cli.common, a),
        Command::Tile(a) => tile::run(&cli.common, a),
        Command::Ground(a) => ground::run(&cli.common, a),
        Command::Dtm(a) => dtm::run(&cli.common, a),
        Command::Normalize(a) => normalize::run(&cli.common, a),
        Command::ClassifyVeg(a) => classify_veg::run(&cli.common, a),
        Command::Chm(a) => chm::run(&cli.common, a),
        Command::Trees(a) => trees::run(&cli.common, a),
        Command::Eval(a) => eval::run(&cli.common, a),
        Command::Run(a) => run::run(&cli.common, a),
        Command::SynthDemo(a) => synth_demo::run(&cli.common, a),
        Command::Plan(a) => run::plan(&cli.common, a),
        Command::Merge(a) => run::merge(&cli.common, a),
        Command::Metrics(a) => metrics::run(&cli.common, a),
        Command::Calibrate(a) => calibrate::run(&cli.common, a),
        Command::Carbon(a) => carbon::run(&cli.common, a),
        Command::Account(a) => account::run(&cli.common, a),
        Command::SynthCounty(a) => synth_county::run(&cli.common, a),
    }
}

/// An error and its causes on one line, each cause once (the CLI's error message).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    common::error_chain(e)
}

/// Sets up logging as the `-q`/`-v` flags say (once per process; later calls keep the first).
pub fn init_logging(c: &Common) {
    common::init_logging(c)
}

/// The `[ground]` configuration of a parsed `ground` command line (its `--config` file with the
/// flags applied, validated), for the Python module's in-memory `ground`.
#[allow(dead_code)] // used by the Python module (python/), which compiles this module too
pub fn ground_config(cli: &Cli) -> anyhow::Result<landcarbon::algo::ground::GroundConfig> {
    let Command::Ground(a) = &cli.command else {
        anyhow::bail!("not a ground command line");
    };
    let cfg = common::load_config(&cli.common, Some(&a.catalog))?;
    ground::resolve(&cfg.ground, a)
}

/// The `[normalize]` options of a parsed `normalize` command line (validated), for the Python
/// module's in-memory `normalize`.
#[allow(dead_code)] // used by the Python module (python/)
pub fn normalize_options(cli: &Cli) -> anyhow::Result<landcarbon::algo::terrain::NormalizeOptions> {
    let Command::Normalize(a) = &cli.command else {
        anyhow::bail!("not a normalize command line");
    };
    let cfg = common::load_config(&cli.common, Some(&a.catalog))?;
    let opts = normalize::options(&cfg.normalize, a);
    opts.validate()?;
    Ok(opts)
}

/// The clap definition of the whole command line (with the defaults shown in `--help`), for
/// the Python module's mapping of keyword arguments onto flags.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    defaults::command(Cli::command())
}
