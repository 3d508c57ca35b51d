//! `landcarbon eval dtm A.tif B.tif`: agreement of two DTM rasters over the cells valid in both
//! (same cell size, aligned grids; only the overlap is compared). Prints RMSE, bias (A − B),
//! MAE, max abs error and the number of common cells, as text or `--json`. The statistics are
//! computed by `algo::terrain::compare`.

use super::common::{Common, Outcome};
use anyhow::Context;
use landcarbon::algo::terrain;
use landcarbon::raster;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Raster A (e.g. the DTM from our ground).
    pub a: PathBuf,
    /// Raster B (e.g. the DTM from the provider's ground).
    pub b: PathBuf,
    /// Band to compare (1-based), in both files.
    #[arg(long, default_value_t = 1)]
    pub band: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(_c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    let ra =
        raster::read_geotiff(&a.a, a.band).with_context(|| format!("reading {}", a.a.display()))?;
    let rb =
        raster::read_geotiff(&a.b, a.band).with_context(|| format!("reading {}", a.b.display()))?;
    let d = terrain::compare(&ra, &rb)
        .with_context(|| format!("comparing {} with {}", a.a.display(), a.b.display()))?;
    if a.json {
        let v = serde_json::json!({
            "a": a.a.display().to_string(),
            "b": a.b.display().to_string(),
            "res_m": ra.grid.res_m,
            "n_common": d.n_common,
            "n_only_a": d.n_only_a,
            "n_only_b": d.n_only_b,
            "rmse_m": d.rmse_m,
            "bias_m": d.bias_m,
            "mae_m": d.mae_m,
            "max_abs_m": d.max_abs_m,
            "max_abs_at": d.max_abs_at,
        });
        println!("{v}");
    } else {
        println!("A            {}", a.a.display());
        println!("B            {}", a.b.display());
        println!(
            "common cells {} at {} m (valid in A only {}, in B only {})",
            d.n_common, ra.grid.res_m, d.n_only_a, d.n_only_b
        );
        println!("RMSE         {:.4} m", d.rmse_m);
        println!("bias (A-B)   {:+.4} m", d.bias_m);
        println!("MAE          {:.4} m", d.mae_m);
        println!(
            "max |A-B|    {:.4} m at ({:.2}, {:.2})",
            d.max_abs_m, d.max_abs_at[0], d.max_abs_at[1]
        );
    }
    Ok(Outcome::Complete)
}
