//! Times the pipeline's metric stages on one tile (or several merged tiles) on one thread and
//! prints checksums of their values, to compare two builds for speed and bit-identity: the
//! grid metrics at 20 m (as the `metrics` stage: binning, per-cell metrics, rasters) and the
//! plot metrics of 400 m² circular plots every 50 m (as the `plots` stage computes them).
//! Usage: REPS=5 cargo run --release --example prof_metrics -- TILE.laz [...]
//! Instructions: REPS=1 valgrind --tool=callgrind --toggle-collect='*grid_metrics*'
//!   target/release/examples/prof_metrics TILE.laz
mod common;
use common::sum_bits;
use landcarbon::algo::grid_metrics::grid_metrics;
use landcarbon::algo::metrics::{MetricComputer, MetricOptions, Returns};
use landcarbon::algo::terrain::{self, DtmMethod, GroundSurface};
use landcarbon::raster::Grid;
use std::time::Instant;

fn main() {
    let cloud = common::classified_tiles();
    let mask = terrain::ground_mask(&cloud, &[2]);
    let s = GroundSurface::from_cloud(&cloud, &mask, &DtmMethod::default()).unwrap();
    let hag = common::heights(&s, &cloud);
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let opts = MetricOptions::default();
    let r = Returns::from_cloud(&cloud, &hag);
    let fold = |a: [f64; 2], (x, y): (&f64, &f64)| [a[0].min(*x), a[1].min(*y)];
    let [x0, y0] = cloud.x.iter().zip(&cloud.y).fold([f64::INFINITY; 2], fold);
    let (x1, y1) = (
        cloud.x.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        cloud.y.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let grid = Grid::covering(&[x0, y0, x1, y1], 20.0);
    // Plots: circles of 400 m² (radius 11.28 m) on a 50 m lattice, their points by a scan.
    let radius = (400.0 / std::f64::consts::PI).sqrt();
    let mut plots: Vec<Vec<usize>> = Vec::new();
    let mut cy = y0 + 25.0;
    while cy < y1 {
        let mut cx = x0 + 25.0;
        while cx < x1 {
            plots.push(
                (0..cloud.len())
                    .filter(|&i| {
                        let (dx, dy) = (cloud.x[i] - cx, cloud.y[i] - cy);
                        hag[i].is_finite() && dx * dx + dy * dy <= radius * radius
                    })
                    .collect(),
            );
            cx += 50.0;
        }
        cy += 50.0;
    }
    let (mut t_grid, mut t_plots) = (Vec::new(), Vec::new());
    let (mut grid_sum, mut plot_sum) = (0, 0);
    for _ in 0..reps {
        let t = Instant::now();
        let gm = grid_metrics(&cloud.x, &cloud.y, &r, &grid, &opts);
        let rasters = gm.to_rasters(-9999.0);
        t_grid.push(t.elapsed().as_secs_f64());
        grid_sum = sum_bits(
            gm.values.iter().map(|v| v.to_bits()).chain(
                rasters
                    .iter()
                    .flat_map(|r| r.data.iter().map(|v| v.to_bits() as u64)),
            ),
        );
        let t = Instant::now();
        let mut mc = MetricComputer::new(&opts);
        let rows: Vec<Vec<f64>> = plots
            .iter()
            .map(|idx| mc.compute(&r, idx.iter().copied()))
            .collect();
        t_plots.push(t.elapsed().as_secs_f64());
        plot_sum = sum_bits(rows.iter().flatten().map(|v| v.to_bits()));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (tg, tp) = (median(&mut t_grid), median(&mut t_plots));
    let np: usize = plots.iter().map(|p| p.len()).sum();
    println!(
        "{} points, {} cells: grid metrics {tg:.4} s ({:.1} ns/point) sum {grid_sum:016x} | \
         {} plots of {np} points: {tp:.4} s ({:.1} ns/plot point) sum {plot_sum:016x} (medians of {reps})",
        cloud.len(),
        grid.len(),
        1e9 * tg / cloud.len() as f64,
        plots.len(),
        1e9 * tp / np.max(1) as f64
    );
}
