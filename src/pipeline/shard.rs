//! Sharding a chunk plan for a cluster: chunks are dealt to `n` shards balanced by their
//! estimated point counts (longest-processing-time-first greedy: each chunk, largest first, goes
//! to the shard with the fewest points so far — within 4/3 of the optimal makespan, Graham 1969).
//! Each shard is one Slurm array task; its memory request follows its largest chunk.

use crate::catalog::Chunk;
use crate::{Error, Result};

/// One shard: the chunk ids it runs and its estimated load.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    pub index: usize,
    pub chunk_ids: Vec<usize>,
    pub est_points: u64,
    pub largest_chunk_points: u64,
}

/// Deals `chunks` to `n` shards.
pub fn shards(chunks: &[Chunk], n: usize) -> Result<Vec<Shard>> {
    if n == 0 {
        return Err(Error::Config(
            "the number of shards must be at least 1".into(),
        ));
    }
    let mut order: Vec<&Chunk> = chunks.iter().collect();
    // Largest first; ties by id so the plan is deterministic.
    order.sort_by(|a, b| b.est_points.cmp(&a.est_points).then(a.id.cmp(&b.id)));
    let mut out: Vec<Shard> = (0..n)
        .map(|index| Shard {
            index,
            chunk_ids: Vec::new(),
            est_points: 0,
            largest_chunk_points: 0,
        })
        .collect();
    for c in order {
        let s = out
            .iter_mut()
            .min_by(|a, b| a.est_points.cmp(&b.est_points).then(a.index.cmp(&b.index)))
            .expect("n >= 1");
        s.chunk_ids.push(c.id);
        s.est_points += c.est_points;
        s.largest_chunk_points = s.largest_chunk_points.max(c.est_points);
    }
    for s in &mut out {
        s.chunk_ids.sort_unstable();
    }
    Ok(out)
}

/// Parses `i/N` (0-based shard index over N shards).
pub fn parse_shard(spec: &str) -> Result<(usize, usize)> {
    let bad = || {
        Error::Config(format!(
            "--shard must look like i/N with 0 <= i < N, got '{spec}'"
        ))
    };
    let (i, n) = spec.split_once('/').ok_or_else(bad)?;
    let i: usize = i.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(id: usize, pts: u64) -> Chunk {
        Chunk {
            id,
            core: [0.0; 4],
            buffered: [0.0; 4],
            tiles: vec![],
            own_tile: None,
            est_points: pts,
            part: None,
        }
    }

    #[test]
    fn every_chunk_in_exactly_one_shard_and_balanced() {
        let chunks: Vec<Chunk> = (0..20)
            .map(|i| chunk(i, 100 + (i as u64 * 37) % 300))
            .collect();
        let s = shards(&chunks, 3).unwrap();
        let mut all: Vec<usize> = s.iter().flat_map(|s| s.chunk_ids.clone()).collect();
        all.sort();
        assert_eq!(all, (0..20).collect::<Vec<_>>());
        let loads: Vec<u64> = s.iter().map(|s| s.est_points).collect();
        let (mx, mn) = (*loads.iter().max().unwrap(), *loads.iter().min().unwrap());
        assert!(mx - mn <= 400, "loads {loads:?}");
        assert_eq!(
            loads.iter().sum::<u64>(),
            chunks.iter().map(|c| c.est_points).sum::<u64>()
        );
    }

    #[test]
    fn shard_spec_parsing() {
        assert_eq!(parse_shard("2/5").unwrap(), (2, 5));
        assert!(parse_shard("5/5").is_err());
        assert!(parse_shard("x").is_err());
        assert!(parse_shard("1/0").is_err());
    }
}
