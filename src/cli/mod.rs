//! Command-line layer: one file per subcommand. The only place that knows clap and indicatif.

mod calibrate;
mod carbon;
mod common;
mod info;
mod metrics;
mod tile;

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
    /// Standard ABA metrics per field plot (--plots) or on a grid (--grid) from normalized clouds.
    Metrics(metrics::Args),
    /// Fit a plot-level biomass model (log-log best subset, power NLS) with LOOCV statistics.
    Calibrate(calibrate::Args),
    /// Predict AGB on grid metrics and carbon density per pool (AGC, BGC, DW, LT, total, SE).
    Carbon(carbon::Args),
}

/// Runs the command and returns the process exit code.
pub fn main(cli: Cli) -> i32 {
    common::init_logging(&cli.common);
    let result = match &cli.command {
        Command::Info(a) => info::run(&cli.common, a),
        Command::Tile(a) => tile::run(&cli.common, a),
        Command::Metrics(a) => metrics::run(&cli.common, a),
        Command::Calibrate(a) => calibrate::run(&cli.common, a),
        Command::Carbon(a) => carbon::run(&cli.common, a),
    };
    match result {
        Ok(Outcome::Complete) => 0,
        Ok(Outcome::Partial) => 1,
        Err(e) => {
            eprintln!("landcarbon: error: {}", common::error_chain(e.as_ref()));
            2
        }
    }
}
