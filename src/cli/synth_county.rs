//! `landcarbon synth-county`: write the seeded synthetic county (patches of two years, LiDAR
//! density rasters per pool, plot and soil tables, `account.toml`) for tests and the demo:
//! `landcarbon synth-county -o demo && landcarbon --config demo/account.toml account`.

use super::common::{Common, Outcome};
use landcarbon::accounting::synth_county::{generate, write, SynthCountyParams};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output folder.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Random seed.
    #[arg(long, default_value_t = 20240601)]
    pub seed: u64,
    /// Lattice cells across (100 m each; default 60 → 6 km).
    #[arg(long, default_value_t = 60)]
    pub nx: usize,
    /// Lattice cells down.
    #[arg(long, default_value_t = 60)]
    pub ny: usize,
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    if a.nx < 4 || a.ny < 4 {
        anyhow::bail!("--nx and --ny must be at least 4");
    }
    let p = SynthCountyParams {
        seed: a.seed,
        nx: a.nx,
        ny: a.ny,
        ..Default::default()
    };
    let county = generate(&p);
    let files = write(&county, &a.output)?;
    if !c.quiet {
        eprintln!(
            "synthetic county: {} patches at {}, {} at {}; {} files in {}",
            county.patches[0].len(),
            p.years[0],
            county.patches[1].len(),
            p.years[1],
            files.len(),
            a.output.display()
        );
        eprintln!(
            "run: landcarbon --config {} account",
            a.output.join("account.toml").display()
        );
    }
    Ok(Outcome::Complete)
}
