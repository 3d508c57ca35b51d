//! Times the ground-surface stages of one tile (or several merged tiles) on one thread and
//! prints a checksum of each product, to compare two builds for speed and bit-identity:
//! TIN build, DTM at 1 m, heights of every point, pit-free CHM at 0.5 m.
//! Usage: RAYON_NUM_THREADS=1 cargo run --release --example prof_terrain -- TILE.laz [...]
mod common;
use common::sum_bits;
use landcarbon::algo::canopy::{pitfree, CanopyColumns};
use landcarbon::algo::terrain::{self, DtmMethod, GroundSurface};
use landcarbon::raster::Grid;
use std::time::Instant;

fn main() {
    let cloud = common::classified_tiles();
    let mask = terrain::ground_mask(&cloud, &[2]);
    let b = cloud.bounds().unwrap();
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let (mut t_tin, mut t_dtm, mut t_hag, mut t_chm) = (0.0, 0.0, 0.0, 0.0);
    let mut sums = (0, 0, 0);
    for _ in 0..reps {
        let t = Instant::now();
        let s = GroundSurface::from_cloud(&cloud, &mask, &DtmMethod::default()).unwrap();
        t_tin += t.elapsed().as_secs_f64();
        let grid = Grid::covering(&[b[0], b[1], b[3], b[4]], 1.0);
        let t = Instant::now();
        let dtm = terrain::rasterize(&s, grid);
        t_dtm += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let hag = common::heights(&s, &cloud);
        t_hag += t.elapsed().as_secs_f64();
        let cols = CanopyColumns::from_cloud(&cloud, &hag).unwrap();
        let cg = Grid::covering(&[b[0], b[1], b[3], b[4]], 0.5);
        let t = Instant::now();
        let chm = pitfree::pitfree(&cols.view(), &cg, &pitfree::PitfreeParams::default()).unwrap();
        t_chm += t.elapsed().as_secs_f64();
        if let Ok(path) = std::env::var("DUMP_CHM") {
            let bytes: Vec<u8> = chm.data.iter().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(path, bytes).unwrap();
        }
        sums = (
            sum_bits(dtm.data.iter().map(|v| v.to_bits())),
            sum_bits(hag.iter().map(|v| v.to_bits())),
            sum_bits(chm.data.iter().map(|v| v.to_bits() as u64)),
        );
    }
    let r = reps as f64;
    println!(
        "{} points, {} ground: tin {:.3} s, dtm {:.3} s, hag {:.3} s, pitfree {:.3} s (mean of {reps})",
        cloud.len(),
        mask.iter().filter(|m| **m).count(),
        t_tin / r,
        t_dtm / r,
        t_hag / r,
        t_chm / r
    );
    println!(
        "checksums dtm {:016x} hag {:016x} chm {:016x}",
        sums.0, sums.1, sums.2
    );
}
