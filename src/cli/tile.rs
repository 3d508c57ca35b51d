//! `landcarbon tile`: retile a catalog into square tiles named `{XLEFT}_{YBOTTOM}.laz`, with an
//! optional buffer whose points are flagged withheld (like `lastile -buffer B -flag_as_withheld`).

use super::common::{load_config, progress, report_failures, CatalogArgs, Common, Outcome};
use landcarbon::catalog::{self, ChunkOptions};
use landcarbon::points::{self, flag};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub catalog: CatalogArgs,
    /// Tile side in metres.
    #[arg(long, default_value_t = 1000.0)]
    pub size: f64,
    /// Output folder.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Output format: laz or las.
    #[arg(long, default_value = "laz")]
    pub format: String,
}

pub fn run(c: &Common, a: &Args) -> anyhow::Result<Outcome> {
    let cfg = load_config(c, Some(&a.catalog))?;
    if !(a.size.is_finite() && a.size > 0.0) {
        anyhow::bail!("--size must be positive, got {}", a.size);
    }
    if a.format != "laz" && a.format != "las" {
        anyhow::bail!("--format must be laz or las, got {}", a.format);
    }
    std::fs::create_dir_all(&a.output).map_err(|e| landcarbon::Error::io(&a.output, e))?;
    let buffer = a.catalog.buffer.unwrap_or(0.0);
    let opts = ChunkOptions {
        size_m: a.size,
        buffer_m: buffer,
        ..cfg.chunk.clone()
    };
    let catalog = catalog::Catalog::open(&a.catalog.inputs)?;
    let plan = catalog.plan(&opts)?;
    let pb = progress(c, plan.len() as u64, "tiling");
    let report = catalog::run(
        &catalog,
        &plan,
        &cfg.engine,
        &|_, _| pb.inc(1),
        |chunk, mut cloud| {
            if cloud.core_len() == 0 {
                return Ok(None);
            }
            if buffer == 0.0 {
                let keep: Vec<bool> = cloud.is_buffer.iter().map(|b| !b).collect();
                cloud.retain_mask(&keep);
            } else {
                for i in 0..cloud.len() {
                    if cloud.is_buffer[i] {
                        cloud.flags[i] |= flag::WITHHELD;
                    }
                }
            }
            let name = format!("{:.0}_{:.0}.{}", chunk.core[0], chunk.core[1], a.format);
            let path = a.output.join(name);
            points::write(&cloud, &path)?;
            Ok(Some((path, cloud.len())))
        },
    )?;
    pb.finish_and_clear();
    let written: Vec<_> = report
        .results
        .iter()
        .filter_map(|(_, r)| r.clone())
        .collect();
    if !c.quiet {
        let n: usize = written.iter().map(|(_, n)| n).sum();
        eprintln!(
            "wrote {} tiles ({} points) to {}",
            written.len(),
            n,
            a.output.display()
        );
    }
    Ok(report_failures(c, &report, &cfg.engine))
}
