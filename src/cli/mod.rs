//! Command-line layer: one file per subcommand. The only place that knows clap and indicatif.

mod common;
mod dtm;
mod eval;
mod eval_dtm;
mod eval_ground;
mod ground;
mod info;
mod normalize;
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
    /// Classify ground (2), noise (7) and the rest (1) with CSF, SMRF or the automatic mode.
    Ground(ground::Args),
    /// Digital terrain model from ground points (TIN or IDW) over a catalog, as one GeoTIFF.
    Dtm(dtm::Args),
    /// Height above ground for every point, as Z or as extra bytes `HeightAboveGround`.
    Normalize(normalize::Args),
    /// Accuracy of products against references.
    Eval(eval::Args),
}

/// Runs the command and returns the process exit code.
pub fn main(cli: Cli) -> i32 {
    common::init_logging(&cli.common);
    let result = match &cli.command {
        Command::Info(a) => info::run(&cli.common, a),
        Command::Tile(a) => tile::run(&cli.common, a),
        Command::Ground(a) => ground::run(&cli.common, a),
        Command::Dtm(a) => dtm::run(&cli.common, a),
        Command::Normalize(a) => normalize::run(&cli.common, a),
        Command::Eval(a) => eval::run(&cli.common, a),
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
