//! The bundled demo's data: a small synthetic county (land-survey patches of two years, from
//! [`crate::accounting::synth_county`]) flown twice by a synthetic LiDAR (trees where the patches
//! are forest or orchard, five years' growth between the surveys), field plots whose AGB is
//! summed from the simulated trees with the default allometry, and a `pipeline.toml` that runs
//! the whole chain on them with `landcarbon run`.
//!
//! Everything is a deterministic function of the seed.

use crate::accounting::geom::MultiPolygon;
use crate::accounting::synth_county::{self, SynthCountyParams};
use crate::params::{LandClass, Params};
use crate::points::{self, PointCloud};
use crate::synth::{self, SynthParams, SynthTree};
use crate::{Error, Result};
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Size and density of the demo.
#[derive(Debug, Clone)]
pub struct DemoParams {
    pub seed: u64,
    /// County lattice cells (50 m each) across and down.
    pub cells: usize,
    pub pulses_per_m2: f64,
    pub tile_m: f64,
    pub plots_per_survey: usize,
    pub plot_radius_m: f64,
}

impl Default for DemoParams {
    fn default() -> Self {
        DemoParams {
            seed: 20240601,
            cells: 12,
            pulses_per_m2: 4.0,
            tile_m: 200.0,
            plots_per_survey: 30,
            plot_radius_m: 15.0,
        }
    }
}

/// Even-odd point-in-polygon over every ring (holes included).
fn contains(mp: &MultiPolygon, x: f64, y: f64) -> bool {
    let mut inside = false;
    for ring in mp.polygons.iter().flat_map(|p| p.rings()) {
        let n = ring.len();
        for i in 0..n {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            if (a[1] > y) != (b[1] > y) && x < a[0] + (y - a[1]) / (b[1] - a[1]) * (b[0] - a[0]) {
                inside = !inside;
            }
        }
    }
    inside
}

/// Writes the demo into `dir`; returns the pipeline configuration's path.
pub fn write(dir: &Path, p: &DemoParams) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    // 50 m lattice cells grouped ~3 to a patch: a few dozen patches on 600 m × 600 m.
    let cp = SynthCountyParams {
        seed: p.seed,
        nx: p.cells,
        ny: p.cells,
        cell_m: 50.0,
        mean_patch_cells: 3.0,
        ..Default::default()
    };
    let county = synth_county::generate(&cp);
    synth_county::write(&county, dir)?;
    let params = Params::defaults();
    let size = [p.cells as f64 * cp.cell_m, p.cells as f64 * cp.cell_m];
    // Tree density from the t2 patches' classes (t1 uses the same trees, smaller: afforested
    // patches are young plantations in both surveys).
    let patches: Vec<(MultiPolygon, f64)> = county.patches[1]
        .iter()
        .map(|sp| {
            let d = match params.class_of(&sp.code) {
                Some(LandClass::Forest) => 1.0,
                Some(LandClass::Garden) => 0.45,
                Some(LandClass::Grassland) => 0.03,
                _ => 0.0,
            };
            (sp.geom.clone(), d)
        })
        .collect();
    let boxes: Vec<_> = patches.iter().map(|(g, _)| g.bbox()).collect();
    let density = |x: f64, y: f64| -> f64 {
        for ((g, d), b) in patches.iter().zip(&boxes) {
            if x >= b.xmin && x <= b.xmax && y >= b.ymin && y <= b.ymax && contains(g, x, y) {
                return *d;
            }
        }
        0.0
    };
    let mut surveys = String::new();
    for (year, height_factor) in [(cp.years[0], 0.85), (cp.years[1], 1.0)] {
        let sp = SynthParams {
            origin: cp.origin,
            size_m: size,
            pulses_per_m2: p.pulses_per_m2,
            trees_per_ha: 220.0,
            tree_height_m: [8.0, 30.0],
            slope_x: 0.05,
            undulation_m: 4.0,
            base_z_m: 120.0,
            p_ground_under_canopy: 0.5,
            seed: p.seed,
            epsg: cp.epsg,
            height_factor,
        };
        let (cloud, trees) = synth::generate_where(&sp, &density);
        let tiles_dir = dir.join(format!("lidar_points_{year}"));
        write_tiles(&cloud, &tiles_dir, cp.origin, size, p.tile_m)?;
        let plots = dir.join(format!("field_plots_{year}.csv"));
        write_plots(&plots, &trees, &sp, p, &density, &params)?;
        let _ = writeln!(
            surveys,
            "[[run.surveys]]\nyear = {year}\ninputs = [\"lidar_points_{year}/*.laz\"]\nplots = \"field_plots_{year}.csv\"\nresponse = \"agb_t_ha\"\n"
        );
    }
    // The accounting section of the synthetic county, with LiDAR density left to the run.
    let account: String = synth_county::config_toml(&county)
        .lines()
        .filter(|l| !l.starts_with("density =") && !l.starts_with("out =") && !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let cfg = format!(
        "# landcarbon demo: a synthetic county flown twice ({y1} and {y2}).\n\
         # Run: landcarbon run pipeline.toml\n\
         [chunk]\nbuffer_m = 20.0\n\n[metrics]\nres_m = 20.0\n\n[carbon]\nclass = \"forest\"\n\n\
         # An a-priori candidate set of structural metrics keeps the best-subset search small.\n\
         [calibrate]\npredictors = [\"zmean\", \"zmax\", \"zsd\", \"zq50\", \"zq75\", \"zq90\", \"zq95\", \"cover\", \"mch\", \"pzabove2\", \"zpcum3\", \"zpcum5\", \"zpcum7\", \"zentropy\"]\n\n\
         [run]\noutput = \"results\"\n\n{surveys}{account}",
        y1 = cp.years[0],
        y2 = cp.years[1]
    );
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, cfg).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}

fn write_tiles(
    cloud: &PointCloud,
    dir: &Path,
    origin: [f64; 2],
    size: [f64; 2],
    tile: f64,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let nx = (size[0] / tile).ceil() as usize;
    let ny = (size[1] / tile).ceil() as usize;
    let mut bins: Vec<Vec<usize>> = vec![Vec::new(); nx * ny];
    for i in 0..cloud.len() {
        let cx = (((cloud.x[i] - origin[0]) / tile) as usize).min(nx - 1);
        let cy = (((cloud.y[i] - origin[1]) / tile) as usize).min(ny - 1);
        bins[cy * nx + cx].push(i);
    }
    for (k, idx) in bins.iter().enumerate() {
        if idx.is_empty() {
            continue;
        }
        let (cx, cy) = (k % nx, k / nx);
        let name = format!(
            "{:.0}_{:.0}.laz",
            origin[0] + cx as f64 * tile,
            origin[1] + cy as f64 * tile
        );
        points::write(&cloud.select(idx), &dir.join(name))?;
    }
    Ok(())
}

/// Field plots: circles inside the flown area whose centre lies where trees grow; the field AGB
/// is the sum of the simulated trees' AGB (apex inside the circle) by the default allometry.
fn write_plots(
    path: &Path,
    trees: &[SynthTree],
    sp: &SynthParams,
    p: &DemoParams,
    density: &dyn Fn(f64, f64) -> f64,
    params: &Params,
) -> Result<()> {
    let eq = &params.allometry.group(None)?.agb;
    let mut rng = rand_pcg::Pcg64::seed_from_u64(p.seed ^ 0x706c_6f74);
    let r = p.plot_radius_m;
    let mut out = String::from("plot_id,x,y,radius_m,agb_t_ha,n_trees\n");
    let mut made = 0;
    let mut tries = 0;
    while made < p.plots_per_survey && tries < 100_000 {
        tries += 1;
        let x = sp.origin[0] + r + rng.random_range(0.0..sp.size_m[0] - 2.0 * r);
        let y = sp.origin[1] + r + rng.random_range(0.0..sp.size_m[1] - 2.0 * r);
        if density(x, y) < 0.4 {
            continue;
        }
        let inside: Vec<&SynthTree> = trees
            .iter()
            .filter(|t| (t.x - x).powi(2) + (t.y - y).powi(2) <= r * r)
            .collect();
        let kg: f64 = inside.iter().map(|t| eq.agb_kg(t.dbh_cm, t.height_m)).sum();
        let area_ha = std::f64::consts::PI * r * r / 10_000.0;
        made += 1;
        let _ = writeln!(
            out,
            "P{made:03},{x:.2},{y:.2},{r},{:.3},{}",
            kg / 1000.0 / area_ha,
            inside.len()
        );
    }
    std::fs::write(path, out).map_err(|e| Error::io(path, e))
}
