//! `landcarbon eval`: accuracy of products against references, one subcommand per product.

use super::common::{Common, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: EvalCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum EvalCommand {
    /// Compare two DTM rasters (A − B): RMSE, bias, MAE, max abs error over the common cells.
    Dtm(super::eval_dtm::Args),
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    match &a.command {
        EvalCommand::Dtm(d) => super::eval_dtm::run(c, d),
    }
}
