//! The chunk engine reads the same points for every chunk whether tiles decoded for their
//! neighbours' strips are copied for their own chunk or decoded again, and whether the chunks
//! run in one wave or in many (`EngineOptions::scratch_max_gb`).

use landcarbon::catalog::{self, strips::StripCache, Catalog, ChunkOptions, EngineOptions};
use landcarbon::points;
use landcarbon::synth::{generate, SynthParams};

#[path = "common/chunk_points.rs"]
mod chunk_points;
use chunk_points::{chunk_points, ChunkPoint};

fn chunks_read(
    cat: &Catalog,
    plan: &[catalog::Chunk],
    opts: &EngineOptions,
) -> Vec<Vec<ChunkPoint>> {
    let report =
        catalog::run(cat, plan, opts, &|_, _| {}, |_, pts| Ok(chunk_points(&pts))).unwrap();
    assert!(report.is_complete(), "{:?}", report.failures);
    report.results.into_iter().map(|(_, v)| v).collect()
}

#[test]
fn chunks_are_the_same_with_or_without_tile_copies_in_one_wave_or_many() {
    let (cloud, _) = generate(&SynthParams {
        size_m: [120.0, 80.0],
        pulses_per_m2: 4.0,
        ..Default::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let [x0, y0] = [
        cloud.x.iter().cloned().fold(f64::INFINITY, f64::min),
        cloud.y.iter().cloned().fold(f64::INFINITY, f64::min),
    ];
    // Six 40 m x 40 m tiles: every tile has neighbours.
    let mut paths = Vec::new();
    for (i, j) in (0..3).flat_map(|i| (0..2).map(move |j| (i, j))) {
        let idx: Vec<usize> = (0..cloud.len())
            .filter(|&k| {
                ((cloud.x[k] - x0) / 40.0).floor().clamp(0.0, 2.0) as i32 == i
                    && ((cloud.y[k] - y0) / 40.0).floor().clamp(0.0, 1.0) as i32 == j
            })
            .collect();
        let p = dir.path().join(format!("t{i}{j}.laz"));
        points::write(&cloud.select(&idx), &p).unwrap();
        paths.push(p.display().to_string());
    }
    let cat = Catalog::open(&paths).unwrap();
    let plan = cat
        .plan(&ChunkOptions {
            buffer_m: 10.0,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(plan.len(), 6);
    let scratch = tempfile::tempdir().unwrap();
    // Every tile is decoded for a neighbour's strip, so every tile gets its copy (or none).
    let ids: Vec<usize> = (0..plan.len()).collect();
    for copy in [true, false] {
        let cache = StripCache::build(&cat, &plan, &ids, Some(scratch.path()), copy).unwrap();
        for t in 0..cat.tiles.len() {
            assert!(cache.strip(t).is_some(), "tile {t} has a strip");
            assert_eq!(cache.whole(t).is_some(), copy, "tile {t}: copy {copy}");
        }
    }
    let with = |gb: f64| EngineOptions {
        threads: 2,
        scratch_dir: Some(scratch.path().to_path_buf()),
        scratch_max_gb: gb,
        ..Default::default()
    };
    let decoded_twice = chunks_read(&cat, &plan, &with(0.0));
    let one_wave = chunks_read(&cat, &plan, &with(EngineOptions::default().scratch_max_gb));
    // About one tile's copy per wave: six waves.
    let tile_bytes = cat.tiles[0].n_points as f64 * 28.0;
    let many_waves = chunks_read(&cat, &plan, &with(tile_bytes * 1.01e-9));
    for (k, chunk) in decoded_twice.iter().enumerate() {
        assert!(chunk.iter().any(|p| p.0), "chunk {k} has buffer points");
        assert!(chunk.iter().any(|p| !p.0), "chunk {k} has core points");
        assert_eq!(chunk, &one_wave[k], "chunk {k}: copies, one wave");
        assert_eq!(chunk, &many_waves[k], "chunk {k}: copies, many waves");
    }
    let total_core: usize = decoded_twice
        .iter()
        .map(|c| c.iter().filter(|p| !p.0).count())
        .sum();
    assert_eq!(
        total_core,
        cloud.len(),
        "every point is core in exactly one chunk"
    );
    // Scratch is removed after each wave.
    assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0);
}
