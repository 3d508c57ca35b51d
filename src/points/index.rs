//! A 2-D k-d tree over point indices (kiddo), for neighbour queries in x/y.

use kiddo::{ImmutableKdTree, SquaredEuclidean};
use std::num::NonZero;

/// Immutable 2-D k-d tree over `(x, y)`; item `i` is the `i`-th point given.
pub struct KdIndex2 {
    tree: ImmutableKdTree<f64, 2>,
}

impl KdIndex2 {
    /// Builds the tree from coordinate columns of equal length.
    pub fn new(x: &[f64], y: &[f64]) -> Self {
        let pts: Vec<[f64; 2]> = x.iter().zip(y).map(|(&a, &b)| [a, b]).collect();
        KdIndex2 {
            tree: ImmutableKdTree::new_from_slice(&pts),
        }
    }

    /// The `k` nearest items to `(x, y)`: `(index, distance)` sorted by distance.
    pub fn nearest(&self, x: f64, y: f64, k: usize) -> Vec<(usize, f64)> {
        let Some(k) = NonZero::new(k) else {
            return Vec::new();
        };
        self.tree
            .nearest_n::<SquaredEuclidean>(&[x, y], k)
            .into_iter()
            .map(|nn| (nn.item as usize, nn.distance.sqrt()))
            .collect()
    }

    /// All items within `radius` of `(x, y)`, unsorted: `(index, distance)`.
    pub fn within(&self, x: f64, y: f64, radius: f64) -> Vec<(usize, f64)> {
        self.tree
            .within_unsorted::<SquaredEuclidean>(&[x, y], radius * radius)
            .into_iter()
            .map(|nn| (nn.item as usize, nn.distance.sqrt()))
            .collect()
    }
}
