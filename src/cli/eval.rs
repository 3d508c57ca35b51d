//! `landcarbon eval`: accuracy of products against references, one subcommand per product.

use super::common::{Common, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: EvalCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum EvalCommand {
    /// Ground classification against reference labels (class 2 = ground, anything else =
    /// object): Type I, Type II, total error and Cohen's kappa (Sithole & Vosselman 2004).
    /// Points are matched by index; both files must hold the same points in the same order.
    Ground(super::eval_ground::Args),
    /// Compare two DTM rasters (A − B): RMSE, bias, MAE, max abs error over the common cells.
    Dtm(super::eval_dtm::Args),
    /// Detected trees against a field inventory: recall, precision, F-score, height and DBH errors.
    Trees(super::eval_trees::Args),
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    match &a.command {
        EvalCommand::Ground(g) => super::eval_ground::run(c, g),
        EvalCommand::Dtm(d) => super::eval_dtm::run(c, d),
        EvalCommand::Trees(t) => super::eval_trees::run(c, t),
    }
}
