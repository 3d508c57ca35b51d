//! `landcarbon synth-demo`: write the demo's synthetic county, LiDAR surveys, field plots and
//! `pipeline.toml` (see `landcarbon::synth_demo`).

use super::common::{Common, Outcome};
use landcarbon::synth_demo::{self, DemoParams};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output folder.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Random seed.
    #[arg(long, default_value_t = 20240601)]
    pub seed: u64,
    /// County size in 50 m lattice cells across (and down).
    #[arg(long, default_value_t = 12)]
    pub cells: usize,
    /// LiDAR pulses per square metre.
    #[arg(long, default_value_t = 4.0)]
    pub pulses: f64,
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    let p = DemoParams {
        seed: a.seed,
        cells: a.cells,
        pulses_per_m2: a.pulses,
        ..Default::default()
    };
    let cfg = synth_demo::write(&a.output, &p)?;
    if !c.quiet {
        eprintln!(
            "demo data in {}; run it with: landcarbon run {}",
            a.output.display(),
            cfg.display()
        );
    }
    Ok(Outcome::Complete)
}
