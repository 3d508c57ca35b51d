//! A seeded synthetic county for tests and the demo: land-survey patches of two years and
//! LiDAR carbon-density rasters per pool, with plot and soil tables and a ready `account.toml`.
//!
//! * Patches: a lattice of `nx × ny` cells (default 60 × 60 of 100 m, 36 km²) whose vertices
//!   are jittered (±30 % of a cell; shared vertices keep the tessellation gap- and overlap-free)
//!   and grouped by randomized region growing into irregular patches (~8 cells each, some
//!   enclosing others, so polygons with holes occur). Classes follow a smooth landscape
//!   (forest in the west hills, cropland in the east plain, a river with wetlands, a town of
//!   built-up land) with realistic 三调 codes; two counties split west/east; ZLDWDM =
//!   county (6) + township (3) + village (3); TBMJ = planar area × (1 + 2.5e-4) — an
//!   ellipsoidal-vs-planar difference of the order of a Gauss–Krüger zone's.
//! * t₂: some patches change class whole (afforestation, construction, orchards…), some are
//!   split (part changes class), some neighbours of one class are merged; three lattice
//!   vertices are moved by 1 cm in t₂ (digitizing differences → slivers below 1 m²). One t₁
//!   patch gets a zero-area spike in its ring (an invalid polygon that must be repaired).
//! * Rasters (20 m, EPSG:4547 CGCS2000 / 3-degree GK CM 114E): agc, bgc, dw, lt, total and a
//!   per-cell SE per year, density by class of the cell centre's patch with patch-level and
//!   cell-level noise and forest growth between the years; the t₁ rasters have no data over
//!   the easternmost 4 % of the county (patches outside raster coverage). `model.json` names
//!   one model for both years (shared, correlated error).
//! * Plot tables (per plot, the same plot ids in both years → paired) for cropland and
//!   wetland; a soil layer table for cropland, forest and garden.
//!
//! Everything is a deterministic function of [`SynthCountyParams`] (seeded `Pcg64`).
//!
//! See also: `pipeline.rs`, `src/cli/synth_county.rs`, `tests/account_synth.rs`.

use super::geom::{ring_signed_area, MultiPolygon, Polygon, Pt};
use crate::raster::{Grid, Raster};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_pcg::Pcg64;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

/// Generator settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthCountyParams {
    pub seed: u64,
    pub nx: usize,
    pub ny: usize,
    pub cell_m: f64,
    /// South-west corner (projected metres).
    pub origin: [f64; 2],
    pub epsg: u32,
    pub mean_patch_cells: f64,
    pub raster_res_m: f64,
    pub years: [i32; 2],
}

impl Default for SynthCountyParams {
    fn default() -> Self {
        SynthCountyParams {
            seed: 20240601,
            nx: 60,
            ny: 60,
            cell_m: 100.0,
            origin: [520_000.0, 3_400_000.0],
            epsg: 4547,
            mean_patch_cells: 8.0,
            raster_res_m: 20.0,
            years: [2020, 2025],
        }
    }
}

/// One synthetic patch.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthPatch {
    pub id: String,
    pub code: String,
    pub zldwdm: String,
    pub tbmj_m2: f64,
    pub stratum: String,
    pub geom: MultiPolygon,
}

/// Per-pool rasters of one year.
#[derive(Debug, Clone)]
pub struct SynthLidar {
    pub agc: Raster<f64>,
    pub bgc: Raster<f64>,
    pub dw: Raster<f64>,
    pub lt: Raster<f64>,
    pub total: Raster<f64>,
    pub se: Raster<f64>,
}

/// The generated county.
#[derive(Debug, Clone)]
pub struct SynthCounty {
    pub params: SynthCountyParams,
    pub patches: [Vec<SynthPatch>; 2],
    pub lidar: [SynthLidar; 2],
    pub model_json: String,
    pub plots_csv: [String; 2],
    pub soil_csv: String,
    /// Counties: code → name.
    pub counties: BTreeMap<String, String>,
}

pub const NODATA: f64 = -9999.0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum K {
    Crop,
    Garden,
    Forest,
    Grass,
    Wet,
    Oos,
}

fn class_of_code(code: &str) -> K {
    match &code[..2] {
        "01" => K::Crop,
        "02" => K::Garden,
        "03" if code == "0304" || code == "0306" => K::Wet,
        "03" => K::Forest,
        "04" if code == "0402" => K::Wet,
        "04" => K::Grass,
        "11" if code == "1106" || code == "1108" => K::Wet,
        _ => K::Oos,
    }
}

fn pick<'a>(rng: &mut Pcg64, items: &[(&'a str, f64)]) -> &'a str {
    let total: f64 = items.iter().map(|x| x.1).sum();
    let mut r = rng.random::<f64>() * total;
    for (s, w) in items {
        if r < *w {
            return s;
        }
        r -= w;
    }
    items[items.len() - 1].0
}

/// Generates the county (see the module doc).
pub fn generate(p: &SynthCountyParams) -> SynthCounty {
    let mut rng = Pcg64::seed_from_u64(p.seed);
    let (nx, ny) = (p.nx, p.ny);
    // Jittered lattice, (nx+1)×(ny+1) vertices; boundary vertices move along the boundary only.
    let mut verts: Vec<Pt> = Vec::with_capacity((nx + 1) * (ny + 1));
    for j in 0..=ny {
        for i in 0..=nx {
            let mut dx = (rng.random::<f64>() - 0.5) * 0.6 * p.cell_m;
            let mut dy = (rng.random::<f64>() - 0.5) * 0.6 * p.cell_m;
            if i == 0 || i == nx {
                dx = 0.0;
            }
            if j == 0 || j == ny {
                dy = 0.0;
            }
            verts.push([
                p.origin[0] + i as f64 * p.cell_m + dx,
                p.origin[1] + j as f64 * p.cell_m + dy,
            ]);
        }
    }
    // Randomized region growing: labels per cell (j * nx + i).
    let ncell = nx * ny;
    let nseeds = ((ncell as f64 / p.mean_patch_cells).round() as usize).max(1);
    let mut label = vec![usize::MAX; ncell];
    let mut heap: BinaryHeap<(u64, usize, usize)> = BinaryHeap::new();
    let mut seeds = Vec::with_capacity(nseeds);
    for s in 0..nseeds {
        let c = rng.random_range(0..ncell);
        if label[c] == usize::MAX {
            label[c] = s;
            seeds.push(c);
        }
    }
    let neighbours = |c: usize| -> Vec<usize> {
        let (i, j) = (c % nx, c / nx);
        let mut v = Vec::with_capacity(4);
        if i > 0 {
            v.push(c - 1);
        }
        if i + 1 < nx {
            v.push(c + 1);
        }
        if j > 0 {
            v.push(c - nx);
        }
        if j + 1 < ny {
            v.push(c + nx);
        }
        v
    };
    for &c in &seeds {
        for n in neighbours(c) {
            if label[n] == usize::MAX {
                heap.push((rng.random::<u64>(), n, label[c]));
            }
        }
    }
    while let Some((_, c, l)) = heap.pop() {
        if label[c] != usize::MAX {
            continue;
        }
        label[c] = l;
        for n in neighbours(c) {
            if label[n] == usize::MAX {
                heap.push((rng.random::<u64>(), n, l));
            }
        }
    }
    // Relabel compactly (some seeds may have lost every cell).
    let mut remap: HashMap<usize, usize> = HashMap::new();
    for l in label.iter_mut() {
        let n = remap.len();
        *l = *remap.entry(*l).or_insert(n);
    }
    let nlab = remap.len();
    // Label centroids (grid units) → landscape → class and code.
    let mut cen = vec![(0.0, 0.0, 0usize); nlab];
    for (c, &l) in label.iter().enumerate() {
        cen[l].0 += (c % nx) as f64 + 0.5;
        cen[l].1 += (c / nx) as f64 + 0.5;
        cen[l].2 += 1;
    }
    let mut code1 = Vec::with_capacity(nlab);
    for &(sx, sy, n) in &cen {
        let u = sx / n as f64 / nx as f64;
        let v = sy / n as f64 / ny as f64;
        let river = (v - 0.5 - 0.08 * (6.0 * u).sin()).abs() < 0.05;
        let town = ((u - 0.75).powi(2) + (v - 0.28).powi(2)).sqrt() < 0.1;
        let code = if river && rng.random::<f64>() < 0.7 {
            pick(
                &mut rng,
                &[("1101", 0.4), ("1106", 0.3), ("1108", 0.15), ("0402", 0.15)],
            )
        } else if town && rng.random::<f64>() < 0.7 {
            pick(
                &mut rng,
                &[("0702", 0.5), ("0601", 0.2), ("1003", 0.15), ("0508", 0.15)],
            )
        } else {
            let w_forest = 0.15 + 0.9 * (1.0 - u).powi(2);
            let w_crop = 0.1 + 0.7 * u;
            pick(
                &mut rng,
                &[
                    ("0301", w_forest * 0.6),
                    ("0305", w_forest * 0.15),
                    ("0307", w_forest * 0.25),
                    ("0101", w_crop * 0.6),
                    ("0103", w_crop * 0.4),
                    ("0201", 0.06),
                    ("0202", 0.04),
                    ("0404", 0.07),
                    ("0702", 0.05),
                    ("1006", 0.01),
                ],
            )
        };
        code1.push(code.to_string());
    }
    let strata: Vec<String> = (0..nlab)
        .map(|l| {
            if class_of_code(&code1[l]) == K::Forest {
                if rng.random::<f64>() < 0.55 {
                    "masson_pine".into()
                } else {
                    "oak".into()
                }
            } else {
                String::new()
            }
        })
        .collect();
    // County of a label: west or east half by its centroid.
    let county1: Vec<&'static str> = cen
        .iter()
        .map(|c| {
            if c.0 / (c.2 as f64) < nx as f64 * 0.5 {
                "420101"
            } else {
                "420102"
            }
        })
        .collect();
    // t2 labels: copy, then change, split and merge.
    let mut label2 = label.clone();
    let mut code2: Vec<String> = code1.clone();
    let mut strata2 = strata.clone();
    let mut changed = vec![false; nlab];
    // Transitions typical of a county in central China: afforestation and orchards on
    // cropland, construction mostly on cropland, some forest loss.
    let transition = |rng: &mut Pcg64, from: K| -> Option<&'static str> {
        let r = rng.random::<f64>();
        match from {
            K::Crop if r < 0.4 => Some(if r < 0.25 { "0301" } else { "0307" }),
            K::Crop if r < 0.65 => Some("0201"),
            K::Crop => Some("0702"),
            K::Forest if r < 0.2 => Some("0702"),
            K::Forest if r < 0.35 => Some("0101"),
            K::Forest => Some("0307"),
            K::Grass => Some("0301"),
            K::Garden => Some(if r < 0.5 { "0301" } else { "0101" }),
            K::Wet => Some("0103"),
            K::Oos => None,
        }
    };
    for l in 0..nlab {
        if rng.random::<f64>() < 0.08 {
            if let Some(c) = transition(&mut rng, class_of_code(&code1[l])) {
                code2[l] = c.to_string();
                strata2[l] = if class_of_code(c) == K::Forest {
                    "masson_pine".into()
                } else {
                    String::new()
                };
                changed[l] = true;
            }
        }
    }
    // Splits: part of a patch (BFS from one of its cells, half its cells) becomes a new label.
    let mut next = nlab;
    for l in 0..nlab {
        if changed[l] || cen[l].2 < 4 || rng.random::<f64>() >= 0.07 {
            continue;
        }
        let Some(transition_code) = transition(&mut rng, class_of_code(&code1[l])) else {
            continue;
        };
        let cells: Vec<usize> = (0..ncell).filter(|&c| label2[c] == l).collect();
        let start = cells[rng.random_range(0..cells.len())];
        let target = cells.len() / 2;
        let mut q = std::collections::VecDeque::from([start]);
        let mut taken = 0;
        while let Some(c) = q.pop_front() {
            if taken >= target || label2[c] != l {
                continue;
            }
            label2[c] = next;
            taken += 1;
            for n in neighbours(c) {
                if label2[n] == l {
                    q.push_back(n);
                }
            }
        }
        code2.push(transition_code.to_string());
        strata2.push(if class_of_code(transition_code) == K::Forest {
            "masson_pine".into()
        } else {
            String::new()
        });
        changed[l] = true;
        next += 1;
    }
    // Merges: a label absorbs an adjacent unchanged label of the same code.
    let mut merged = 0;
    for c in 0..ncell {
        if merged >= (nlab / 40).max(1) {
            break;
        }
        let a = label2[c];
        if a >= nlab || changed[a] || rng.random::<f64>() > 0.05 {
            continue;
        }
        if let Some(&n) = neighbours(c).iter().find(|&&n| {
            let b = label2[n];
            b != a && b < nlab && !changed[b] && code2[b] == code2[a]
        }) {
            let b = label2[n];
            for x in label2.iter_mut() {
                if *x == b {
                    *x = a;
                }
            }
            changed[a] = true;
            changed[b] = true;
            merged += 1;
        }
    }
    // t2 vertex moves (slivers).
    let mut verts2 = verts.clone();
    let mut moved = 0;
    while moved < 3 {
        let i = rng.random_range(1..nx);
        let j = rng.random_range(1..ny);
        let around = [
            label2[(j - 1) * nx + (i - 1)],
            label2[(j - 1) * nx + i],
            label2[j * nx + (i - 1)],
            label2[j * nx + i],
        ];
        if around.iter().any(|&x| x != around[0]) {
            verts2[j * (nx + 1) + i][0] += 0.01;
            moved += 1;
        }
    }
    let counties: BTreeMap<String, String> = [
        ("420101".to_string(), "Synthetic West County".to_string()),
        ("420102".to_string(), "Synthetic East County".to_string()),
    ]
    .into_iter()
    .collect();
    let scale = 1.0 + 2.5e-4;
    let mk = |labels: &[usize],
              verts: &[Pt],
              codes: &[String],
              strata: &[String],
              ids: &dyn Fn(usize) -> String,
              rng: &mut Pcg64| {
        let polys = trace(labels, nx, ny, verts);
        let mut out = Vec::new();
        for (l, geom) in polys {
            let county = county_of_cells(labels, l, nx, &county1);
            let area = geom.area();
            out.push(SynthPatch {
                id: ids(l),
                code: codes[l].clone(),
                zldwdm: format!("{county}{:03}{:03}", 1 + l % 7, 1 + rng.random_range(0..20)),
                tbmj_m2: (area * scale * 100.0).round() / 100.0,
                stratum: strata[l].clone(),
                geom,
            });
        }
        out
    };
    let mut t1 = mk(
        &label,
        &verts,
        &code1,
        &strata,
        &|l| format!("{:06}", 100_000 + l),
        &mut rng,
    );
    let t2 = mk(
        &label2,
        &verts2,
        &code2,
        &strata2,
        &|l| {
            if l < nlab && !changed[l] {
                format!("{:06}", 100_000 + l)
            } else {
                format!("{:06}", 500_000 + l)
            }
        },
        &mut rng,
    );
    // One invalid polygon: a zero-area spike on the first patch's exterior ring.
    if let Some(p) = t1.first_mut() {
        let ring = &mut p.geom.polygons[0].exterior;
        let (a, b) = (ring[0], ring[1]);
        let m = [0.5 * (a[0] + b[0]), 0.5 * (a[1] + b[1])];
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dy * dy).sqrt().max(1e-9);
        // Outward normal of a CCW ring is (dy, -dx).
        let s = [m[0] + 3.0 * dy / len, m[1] - 3.0 * dx / len];
        ring.splice(1..1, [m, s, m]);
    }
    let lidar = [0, 1].map(|y| {
        rasters(
            p,
            y,
            if y == 0 { &label } else { &label2 },
            if y == 0 { &code1 } else { &code2 },
            if y == 0 { &verts } else { &verts2 },
            &mut rng,
        )
    });
    let (plots_csv, soil_csv) = tables(&mut rng);
    SynthCounty {
        params: p.clone(),
        patches: [t1, t2],
        lidar,
        model_json: r#"{
  "id": "synthetic_aba_loglog_v1",
  "form": "ln AGB = b0 + b1 ln h_mean + b2 ln cc + b3 ln h90, back-transformed with exp(SEE^2/2)",
  "stratum": "all forest, garden, grassland and wetland",
  "n_plots": 64,
  "r2": 0.81,
  "adj_r2": 0.80,
  "rmse_t_ha": 22.4,
  "rrmse_pct": 18.7,
  "loocv_rrmse_pct": 20.3,
  "bias_t_ha": -0.4,
  "see_log": 0.19,
  "u_pct": 6.5,
  "note": "synthetic model metadata for the demo county"
}
"#
        .to_string(),
        plots_csv,
        soil_csv,
        counties,
    }
}

fn county_of_cells(
    labels: &[usize],
    l: usize,
    nx: usize,
    county1: &[&'static str],
) -> &'static str {
    if let Some(c) = county1.get(l) {
        return c;
    }
    // A new (split) label: the county of its first cell's column.
    let c = labels.iter().position(|&x| x == l).unwrap_or(0);
    if (c % nx) < nx / 2 {
        "420101"
    } else {
        "420102"
    }
}

/// Traces the boundary of every label into a multipolygon (outer rings CCW, holes CW; at a
/// vertex shared diagonally the ring turns left, so rings touch but never cross).
fn trace(labels: &[usize], nx: usize, ny: usize, verts: &[Pt]) -> BTreeMap<usize, MultiPolygon> {
    let vid = |i: usize, j: usize| j * (nx + 1) + i;
    let lab = |i: i64, j: i64| -> Option<usize> {
        (i >= 0 && j >= 0 && (i as usize) < nx && (j as usize) < ny)
            .then(|| labels[j as usize * nx + i as usize])
    };
    // Directed boundary edges per label: from vertex -> list of to vertices.
    let mut edges: BTreeMap<usize, BTreeMap<usize, Vec<usize>>> = BTreeMap::new();
    for j in 0..ny {
        for i in 0..nx {
            let l = labels[j * nx + i];
            let (ii, jj) = (i as i64, j as i64);
            let e = edges.entry(l).or_default();
            let sides = [
                (lab(ii, jj - 1), vid(i, j), vid(i + 1, j)),
                (lab(ii + 1, jj), vid(i + 1, j), vid(i + 1, j + 1)),
                (lab(ii, jj + 1), vid(i + 1, j + 1), vid(i, j + 1)),
                (lab(ii - 1, jj), vid(i, j + 1), vid(i, j)),
            ];
            for (nb, a, b) in sides {
                if nb != Some(l) {
                    e.entry(a).or_default().push(b);
                }
            }
        }
    }
    let ij = |v: usize| ((v % (nx + 1)) as i64, (v / (nx + 1)) as i64);
    let mut out = BTreeMap::new();
    for (l, mut e) in edges {
        let mut rings: Vec<Vec<usize>> = Vec::new();
        while let Some((&start, _)) = e.iter().find(|(_, v)| !v.is_empty()) {
            let mut ring = vec![start];
            let mut prev = start;
            let mut cur = e.get_mut(&start).and_then(|v| v.pop()).expect("edge");
            while cur != start {
                ring.push(cur);
                let outs = e.get_mut(&cur).expect("closed boundary");
                let k = if outs.len() == 1 {
                    0
                } else {
                    // Prefer the left turn.
                    let (pi, pj) = ij(prev);
                    let (ci, cj) = ij(cur);
                    let din = (ci - pi, cj - pj);
                    (0..outs.len())
                        .max_by_key(|&k| {
                            let (oi, oj) = ij(outs[k]);
                            let d = (oi - ci, oj - cj);
                            din.0 * d.1 - din.1 * d.0
                        })
                        .unwrap_or(0)
                };
                let nxt = outs.swap_remove(k);
                prev = cur;
                cur = nxt;
            }
            rings.push(ring);
        }
        // A ring that passes a vertex twice (a pinch) is split there into simple rings: each
        // loop is an outer ring (CCW) or a hole (CW). Every lattice vertex is kept: the jitter
        // makes them corners, and a vertex dropped from one patch but kept by its neighbour
        // would open a gap.
        let rings: Vec<Vec<Pt>> = rings
            .into_iter()
            .flat_map(split_at_repeats)
            .map(|r| r.into_iter().map(|v| verts[v]).collect())
            .collect();
        let (outer, holes): (Vec<Vec<Pt>>, Vec<Vec<Pt>>) =
            rings.into_iter().partition(|r| ring_signed_area(r) > 0.0);
        let mut polys: Vec<Polygon> = outer
            .into_iter()
            .map(|exterior| Polygon {
                exterior,
                holes: vec![],
            })
            .collect();
        for h in holes {
            let m = [0.5 * (h[0][0] + h[1][0]), 0.5 * (h[0][1] + h[1][1])];
            let target = polys
                .iter()
                .position(|p| point_in_ring(m, &p.exterior))
                .unwrap_or(0);
            polys[target].holes.push(h);
        }
        out.insert(l, MultiPolygon { polygons: polys });
    }
    out
}

/// Splits a closed vertex sequence at repeated vertices into simple loops.
fn split_at_repeats(ring: Vec<usize>) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut path: Vec<usize> = Vec::with_capacity(ring.len());
    let mut pos: HashMap<usize, usize> = HashMap::new();
    for v in ring {
        if let Some(&k) = pos.get(&v) {
            let lp: Vec<usize> = path.drain(k + 1..).collect();
            for x in &lp {
                pos.remove(x);
            }
            let mut lp = lp;
            lp.insert(0, v);
            if lp.len() >= 3 {
                out.push(lp);
            }
        } else {
            pos.insert(v, path.len());
            path.push(v);
        }
    }
    if path.len() >= 3 {
        out.push(path);
    }
    out
}

fn point_in_ring(p: Pt, r: &[Pt]) -> bool {
    let mut inside = false;
    for i in 0..r.len() {
        let a = r[i];
        let b = r[(i + 1) % r.len()];
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) / (b[1] - a[1]) * (b[0] - a[0]);
            if p[0] < x {
                inside = !inside;
            }
        }
    }
    inside
}

fn rasters(
    p: &SynthCountyParams,
    year: usize,
    labels: &[usize],
    codes: &[String],
    verts: &[Pt],
    rng: &mut Pcg64,
) -> SynthLidar {
    let (nx, ny) = (p.nx, p.ny);
    let w = nx as f64 * p.cell_m;
    let h = ny as f64 * p.cell_m;
    let grid = Grid::covering(
        &[
            p.origin[0],
            p.origin[1],
            p.origin[0] + w - 1e-6,
            p.origin[1] + h - 1e-6,
        ],
        p.raster_res_m,
    );
    // Patch-level base densities (the same for both years: the rng stream is reseeded).
    let mut prng = Pcg64::seed_from_u64(p.seed ^ 0x5EED);
    let nlab = codes.len();
    let base: Vec<f64> = (0..nlab.max(labels.iter().max().map_or(0, |m| m + 1)))
        .map(|_| prng.random::<f64>())
        .collect();
    let noise = Normal::new(0.0, 1.0).expect("normal");
    let mut r = [(); 6].map(|_| Raster::filled(grid, NODATA));
    let vid = |i: usize, j: usize| j * (nx + 1) + i;
    for row in 0..grid.nrows {
        for col in 0..grid.ncols {
            let (x, y) = grid.centre(row, col);
            let fi = ((x - p.origin[0]) / p.cell_m).floor() as i64;
            let fj = ((y - p.origin[1]) / p.cell_m).floor() as i64;
            let mut found = None;
            'search: for dj in -1..=1i64 {
                for di in -1..=1i64 {
                    let (i, j) = (fi + di, fj + dj);
                    if i < 0 || j < 0 || i >= nx as i64 || j >= ny as i64 {
                        continue;
                    }
                    let (i, j) = (i as usize, j as usize);
                    let quad = [
                        verts[vid(i, j)],
                        verts[vid(i + 1, j)],
                        verts[vid(i + 1, j + 1)],
                        verts[vid(i, j + 1)],
                    ];
                    if point_in_ring([x, y], &quad) {
                        found = Some(labels[j * nx + i]);
                        break 'search;
                    }
                }
            }
            let Some(l) = found else {
                continue;
            };
            if year == 0 && x > p.origin[0] + 0.96 * w {
                continue;
            }
            let b = base.get(l).copied().unwrap_or(0.5);
            let e: f64 = noise.sample(rng);
            let code = codes.get(l).map(String::as_str).unwrap_or("0702");
            let grow = year as f64 * 5.0;
            let (agc, rr, dw, lt) = match class_of_code(code) {
                K::Forest => (
                    (35.0 + 40.0 * b + 1.2 * grow + 8.0 * e).max(2.0),
                    0.23,
                    1.5 + 2.5 * b,
                    8.0 + 7.0 * b,
                ),
                K::Garden => (
                    (12.0 + 13.0 * b + 1.0 * grow + 3.0 * e).max(1.0),
                    0.20,
                    0.0,
                    2.0,
                ),
                K::Grass => ((3.0 + 3.0 * b + 0.8 * e).max(0.2), 0.5, 0.0, 1.0),
                K::Wet => ((4.0 + 8.0 * b + 1.5 * e).max(0.2), 0.3, 0.0, 2.0),
                K::Crop => ((0.5 + 1.5 * b + 0.3 * e).max(0.0), 0.2, 0.0, 0.0),
                K::Oos => ((3.0 * b + 0.5 * e).max(0.0), 0.23, 0.0, 0.0),
            };
            let bgc = agc * rr;
            let tot = agc + bgc + dw + lt;
            for (k, v) in [agc, bgc, dw, lt, tot, 0.18 * tot + 1.5]
                .into_iter()
                .enumerate()
            {
                r[k].data[[row, col]] = v;
            }
        }
    }
    let [agc, bgc, dw, lt, total, se] = r;
    SynthLidar {
        agc,
        bgc,
        dw,
        lt,
        total,
        se,
    }
}

fn tables(rng: &mut Pcg64) -> ([String; 2], String) {
    let n = Normal::new(0.0, 1.0).expect("normal");
    let mut t1 = String::from("plot_id,class,stratum,pool,value\n");
    let mut t2 = t1.clone();
    // Cropland snapshot biomass carbon and wetland biomass, 12 and 8 remeasured plots.
    for (class, np, m1, sd, inc) in [
        ("cropland", 12, 2.5f64, 0.8f64, 0.1f64),
        ("wetland", 8, 9.0, 2.5, 0.6),
    ] {
        for k in 0..np {
            let z: f64 = n.sample(rng);
            let v1 = (m1 + sd * z).max(0.1);
            let z2: f64 = n.sample(rng);
            let v2 = (v1 + inc + 0.3 * z2).max(0.1);
            t1.push_str(&format!("{class}-{k:02},{class},,AGB,{v1:.2}\n"));
            t2.push_str(&format!("{class}-{k:02},{class},,AGB,{v2:.2}\n"));
            t1.push_str(&format!("{class}-{k:02},{class},,BGB,{:.2}\n", v1 * 0.3));
            t2.push_str(&format!("{class}-{k:02},{class},,BGB,{:.2}\n", v2 * 0.3));
        }
    }
    let soil = "class,stratum,top_cm,bottom_cm,soc_g_kg,bd_g_cm3,gravel_pct,soc_sd_g_kg,n\n\
                cropland,,0,20,12,1.30,5,2.4,24\ncropland,,20,30,8,1.40,10,1.9,24\n\
                forest,,0,20,18,1.15,8,4.5,16\nforest,,20,30,11,1.30,12,3.1,16\n\
                garden,,0,20,13,1.25,6,3.0,10\ngarden,,20,30,9,1.35,10,2.2,10\n"
        .to_string();
    ([t1, t2], soil)
}

/// A ready-to-run `account.toml` for the files written by [`write`].
pub fn config_toml(c: &SynthCounty) -> String {
    let [y1, y2] = c.params.years;
    let names: Vec<String> = c
        .counties
        .iter()
        .map(|(k, v)| format!("\"{k}\" = \"{v}\""))
        .collect();
    format!(
        "# Synthetic county written by `landcarbon synth-county` (seed {seed}).\n\
         # Run: landcarbon --config account.toml account --out results\n\
         [account]\npatches_t1 = \"patches_{y1}.gpkg\"\npatches_t2 = \"patches_{y2}.gpkg\"\n\
         year_t1 = {y1}\nyear_t2 = {y2}\nout = \"results\"\nsliver_m2 = 1.0\narea_u_pct = 2.0\n\
         mc_draws = 100000\nmc_seed = 20240601\n\
         county_names = {{ {names} }}\n\
         [account.fields]\nid = \"BSM\"\nclass = \"DLBM\"\nlocation = \"ZLDWDM\"\narea = \"TBMJ\"\narea_unit = \"m2\"\nstratum = \"YSSZ\"\n\
         [account.t1]\ndensity = \"lidar_{y1}\"\nplots = \"plots_{y1}.csv\"\nsoil = \"soil.csv\"\n\
         [account.t1.lidar]\nclasses = [\"forest\", \"garden\", \"grassland\"]\nmin_coverage = 0.5\n\
         [account.t2]\ndensity = \"lidar_{y2}\"\nplots = \"plots_{y2}.csv\"\nsoil = \"soil.csv\"\n\
         [account.t2.lidar]\nclasses = [\"forest\", \"garden\", \"grassland\"]\nmin_coverage = 0.5\n",
        seed = c.params.seed,
        names = names.join(", ")
    )
}

/// Writes the county into `dir`: `patches_{t1,t2}.gpkg` (layer DLTB), `lidar_{year}/` with
/// agc/bgc/dw/lt/total/se GeoTIFFs and model.json, `plots_{year}.csv`, `soil.csv` and
/// `account.toml`. Returns the paths written.
pub fn write(c: &SynthCounty, dir: &std::path::Path) -> crate::Result<Vec<std::path::PathBuf>> {
    use super::tables::{ColType, Table, Value};
    use crate::points::Crs;
    use crate::vector::gpkg_out::{write_gpkg, LayerSpec};
    std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
    let crs = Crs::from_epsg(c.params.epsg);
    let wkt = gdal::spatial_ref::SpatialRef::from_epsg(c.params.epsg)
        .and_then(|s| s.to_wkt())
        .map_err(|e| crate::Error::Config(format!("EPSG:{}: {e}", c.params.epsg)))?;
    let mut written = Vec::new();
    let text = |path: std::path::PathBuf,
                s: &str,
                written: &mut Vec<std::path::PathBuf>|
     -> crate::Result<()> {
        let tmp = crate::points::write::temp_path(&path);
        std::fs::write(&tmp, s).map_err(|e| crate::Error::io(&tmp, e))?;
        crate::points::write::commit_temp(&tmp, &path)?;
        written.push(path);
        Ok(())
    };
    for (y, year) in c.params.years.iter().enumerate() {
        let t = Table {
            name: "DLTB".into(),
            columns: vec![
                ("BSM".into(), ColType::Str),
                ("DLBM".into(), ColType::Str),
                ("ZLDWDM".into(), ColType::Str),
                ("TBMJ".into(), ColType::Real),
                ("YSSZ".into(), ColType::Str),
            ],
            rows: c.patches[y]
                .iter()
                .map(|p| {
                    vec![
                        Value::Str(p.id.clone()),
                        Value::Str(p.code.clone()),
                        Value::Str(p.zldwdm.clone()),
                        Value::Real(p.tbmj_m2, 2),
                        Value::Str(p.stratum.clone()),
                    ]
                })
                .collect(),
        };
        let geoms: Vec<MultiPolygon> = c.patches[y].iter().map(|p| p.geom.clone()).collect();
        let path = dir.join(format!("patches_{year}.gpkg"));
        write_gpkg(
            &path,
            Some(&wkt),
            &[LayerSpec {
                table: &t,
                geoms: Some(&geoms),
            }],
        )?;
        written.push(path);
        let ld = dir.join(format!("lidar_{year}"));
        std::fs::create_dir_all(&ld).map_err(|e| crate::Error::io(&ld, e))?;
        let l = &c.lidar[y];
        for (name, r) in [
            ("agc", &l.agc),
            ("bgc", &l.bgc),
            ("dw", &l.dw),
            ("lt", &l.lt),
            ("total", &l.total),
            ("se", &l.se),
        ] {
            let p = ld.join(format!("{name}.tif"));
            crate::raster::write_geotiff(r, &crs, &p)?;
            written.push(p);
        }
        text(ld.join("model.json"), &c.model_json, &mut written)?;
        text(
            dir.join(format!("plots_{year}.csv")),
            &c.plots_csv[y],
            &mut written,
        )?;
    }
    text(dir.join("soil.csv"), &c.soil_csv, &mut written)?;
    text(dir.join("account.toml"), &config_toml(c), &mut written)?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tessellation_is_exact_and_deterministic() {
        let p = SynthCountyParams {
            nx: 24,
            ny: 20,
            ..Default::default()
        };
        let c = generate(&p);
        let c2 = generate(&p);
        assert!(
            c.patches[0] == c2.patches[0] && c.patches[1] == c2.patches[1],
            "not deterministic"
        );
        for y in 0..2 {
            let total: f64 = c.patches[y].iter().map(|q| q.geom.area()).sum();
            let expect = 24.0 * 20.0 * 100.0 * 100.0;
            assert!(
                (total - expect).abs() < 1e-6 * expect,
                "year {y}: {total} vs {expect}"
            );
            for q in &c.patches[y] {
                for poly in &q.geom.polygons {
                    assert!(ring_signed_area(&poly.exterior) > 0.0);
                    for h in &poly.holes {
                        assert!(ring_signed_area(h) < 0.0);
                    }
                }
            }
        }
        assert!(c.patches[0].len() > 40, "{}", c.patches[0].len());
        let codes1: std::collections::HashSet<&str> =
            c.patches[0].iter().map(|q| q.code.as_str()).collect();
        assert!(codes1.len() >= 6, "{codes1:?}");
        assert_ne!(c.patches[0].len(), c.patches[1].len());
        assert!(config_toml(&c).contains("[account.t2.lidar]"));
    }
}
