//! Assigns the points of a cloud to the nodes of a COPC octree, coarse to fine: a node keeps
//! the first point (in file order) of each cell of a `GRID`³ grid over its cube and passes the
//! others down to its eight children; a node of at most `LEAF_POINTS` points (or at the deepest
//! level) keeps them all. Each level is then a uniform sample about twice as dense as the one
//! above, and a box query reads only the nodes whose cubes meet the box.

use super::VoxelKey;

/// Cells per axis of a node's sampling grid: the root's point spacing is its side / `GRID`.
pub const GRID: u32 = 64;
/// A node with at most this many points is a leaf: about 1,400 m² at 14 points/m², so that a
/// 30 m buffer strip of a neighbouring tile reads few points beyond it.
pub const LEAF_POINTS: usize = 20_000;
/// Deepest level: a node there keeps every point that reaches it (duplicates, stacks).
pub const MAX_LEVEL: i32 = 20;

/// The root cube: centre and half side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cube {
    pub center: [f64; 3],
    pub halfsize: f64,
}

impl Cube {
    /// The smallest cube centred on the box `[xmin, ymin, zmin, xmax, ymax, zmax]` holding it,
    /// widened by a hair so that the largest coordinates fall inside.
    pub fn around(b: [f64; 6]) -> Cube {
        let center = [
            0.5 * (b[0] + b[3]),
            0.5 * (b[1] + b[4]),
            0.5 * (b[2] + b[5]),
        ];
        let half = (0..3)
            .map(|k| 0.5 * (b[k + 3] - b[k]))
            .fold(0.0_f64, f64::max);
        Cube {
            center,
            halfsize: (half * (1.0 + 1e-9)).max(1e-3),
        }
    }
}

/// Nodes with their points' indices (in file order within a node), sorted by key.
pub fn build(x: &[f64], y: &[f64], z: &[f64], cube: Cube) -> Vec<(VoxelKey, Vec<u32>)> {
    let n = x.len();
    let mut done = Vec::new();
    let mut stack = vec![(VoxelKey::ROOT, (0..n as u32).collect::<Vec<u32>>())];
    let g = GRID as usize;
    let mut occupied = vec![0u64; (g * g * g).div_ceil(64)];
    while let Some((key, idx)) = stack.pop() {
        if idx.is_empty() {
            continue;
        }
        if idx.len() <= LEAF_POINTS || key.level >= MAX_LEVEL {
            done.push((key, idx));
            continue;
        }
        let side = 2.0 * cube.halfsize / f64::from(1u32 << key.level);
        let lo = [
            cube.center[0] - cube.halfsize + side * f64::from(key.x),
            cube.center[1] - cube.halfsize + side * f64::from(key.y),
            cube.center[2] - cube.halfsize + side * f64::from(key.z),
        ];
        let cell = side / GRID as f64;
        let at = |v: f64, k: usize| (((v - lo[k]) / cell).floor().max(0.0) as usize).min(g - 1);
        occupied.iter_mut().for_each(|w| *w = 0);
        let mut keep = Vec::new();
        let mut children: [Vec<u32>; 8] = Default::default();
        for &i in &idx {
            let (px, py, pz) = (x[i as usize], y[i as usize], z[i as usize]);
            let (cx, cy, cz) = (at(px, 0), at(py, 1), at(pz, 2));
            let c = (cz * g + cy) * g + cx;
            if occupied[c / 64] & (1 << (c % 64)) == 0 {
                occupied[c / 64] |= 1 << (c % 64);
                keep.push(i);
            } else {
                // The child's half: the same cell index arithmetic, so the octant agrees with
                // the cell (a cell never straddles two children: GRID is even).
                let oct = (cx >= g / 2) as usize
                    | ((cy >= g / 2) as usize) << 1
                    | ((cz >= g / 2) as usize) << 2;
                children[oct].push(i);
            }
        }
        for (oct, ch) in children.into_iter().enumerate() {
            stack.push((key.child(oct), ch));
        }
        done.push((key, keep));
    }
    done.sort_by_key(|(k, _)| *k);
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_point_lands_in_one_node_whose_cube_holds_it() {
        // A 100 x 100 m plot of 60k points on a 0.4 m lattice, 3 heights.
        let (mut x, mut y, mut z) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..250 {
            for j in 0..80 {
                for k in 0..3 {
                    x.push(1000.0 + i as f64 * 0.4);
                    y.push(2000.0 + j as f64 * 1.25);
                    z.push(50.0 + k as f64 * 7.0);
                }
            }
        }
        let b = [1000.0, 2000.0, 50.0, 1099.6, 2098.75, 64.0];
        let cube = Cube::around(b);
        let nodes = build(&x, &y, &z, cube);
        assert!(nodes.len() > 1, "60k points must be split");
        let info = super::super::CopcInfo {
            center: cube.center,
            halfsize: cube.halfsize,
            spacing: 0.0,
            root_hier_offset: 0,
            root_hier_size: 0,
            gpstime_min: 0.0,
            gpstime_max: 0.0,
        };
        let mut seen = vec![false; x.len()];
        for (key, idx) in &nodes {
            assert!(!idx.is_empty());
            let nb = info.node_bounds(key);
            for &i in idx {
                let i = i as usize;
                assert!(!seen[i], "point {i} in two nodes");
                seen[i] = true;
                let t = 1e-9;
                assert!(
                    x[i] >= nb[0] - t
                        && x[i] <= nb[3] + t
                        && y[i] >= nb[1] - t
                        && y[i] <= nb[4] + t,
                    "point {i} outside node {key:?}"
                );
                assert!(z[i] >= nb[2] - t && z[i] <= nb[5] + t);
            }
        }
        assert!(seen.iter().all(|&s| s), "every point in a node");
        // The root is a sample: fewer points than the cloud, at most one per cell.
        assert_eq!(nodes[0].0, VoxelKey::ROOT);
        assert!(
            nodes[0].1.len() < x.len() / 2,
            "root holds {}",
            nodes[0].1.len()
        );
    }
}
