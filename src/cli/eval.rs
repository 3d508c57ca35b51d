//! `landcarbon eval`: accuracy against reference data. One subcommand per product.

use super::common::{Common, Outcome};
use super::eval_trees;
use clap::Subcommand;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, Subcommand)]
pub enum What {
    /// Detected trees against a field inventory: recall, precision, F-score, height and DBH errors.
    Trees(eval_trees::Args),
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    match &a.what {
        What::Trees(t) => eval_trees::run(c, t),
    }
}
