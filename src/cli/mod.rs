//! Command-line layer: one file per subcommand. The only place that knows clap and indicatif.

mod account;
mod common;
mod info;
mod synth_county;
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
    /// Patch-level carbon accounting of two land-survey years: overlay, stocks, sink, county totals, uncertainty, tables F-1/F-2/F-3, GeoPackage, report.
    Account(account::Args),
    /// Write a seeded synthetic county (patches of two years, density rasters, plot and soil tables, account.toml).
    SynthCounty(synth_county::Args),
}

/// Runs the command and returns the process exit code.
pub fn main(cli: Cli) -> i32 {
    common::init_logging(&cli.common);
    let result = match &cli.command {
        Command::Info(a) => info::run(&cli.common, a),
        Command::Tile(a) => tile::run(&cli.common, a),
        Command::Account(a) => account::run(&cli.common, a),
        Command::SynthCounty(a) => synth_county::run(&cli.common, a),
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
