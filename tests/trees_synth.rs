//! Tree detection and segmentation on synthetic scenes with known trees (`landcarbon::synth`):
//! recall, precision and height error of the tree table against the true trees.

use landcarbon::algo::canopy::{CanopyColumns, ChmMethod};
use landcarbon::algo::trees::matching::{evaluate, match_trees, MatchRule, MatchTree, Scores};
use landcarbon::algo::trees::{segment_trees, DetectOn, SegmentMethod, TreesParams};
use landcarbon::synth::{generate, SynthParams};

/// Scores of the default pipeline (with `f` applied to the parameters) on a synthetic scene,
/// heights taken from the scene's true terrain.
fn run(p: &SynthParams, f: impl Fn(&mut TreesParams)) -> (Scores, usize, usize) {
    let (cloud, truth) = generate(p);
    let h: Vec<f64> = (0..cloud.len())
        .map(|i| cloud.z[i] - p.terrain_z(cloud.x[i], cloud.y[i]))
        .collect();
    let cols = CanopyColumns::from_cloud(&cloud, &h).unwrap();
    let mut tp = TreesParams::default();
    f(&mut tp);
    let seg = segment_trees(&cols.view(), &tp).unwrap();
    let reference: Vec<MatchTree> = truth
        .iter()
        .map(|t| MatchTree::with_height(t.x, t.y, t.height_m))
        .collect();
    let detected: Vec<MatchTree> = seg
        .trees
        .iter()
        .map(|t| MatchTree::with_height(t.x, t.y, t.height_m))
        .collect();
    // Synthetic apexes sit exactly above the stems: a strict rule (1.5 m, 10 %).
    let rule = MatchRule {
        max_distance_m: 1.5,
        max_height_diff: 0.1,
    };
    let m = match_trees(&reference, &detected, &rule);
    let s = evaluate(
        &reference,
        &detected,
        &m,
        &vec![true; reference.len()],
        &vec![true; detected.len()],
    );
    let labelled = seg.point_label.iter().filter(|&&l| l > 0).count();
    (s, truth.len(), labelled)
}

fn scene() -> SynthParams {
    SynthParams {
        size_m: [80.0, 80.0],
        pulses_per_m2: 8.0,
        seed: 7,
        ..Default::default()
    }
}

#[test]
fn default_pipeline_finds_the_synthetic_trees() {
    let (s, n, labelled) = run(&scene(), |_| {});
    eprintln!("default: {n} trees, {s:?}");
    assert!(n > 80);
    assert!(s.recall >= 0.93, "recall {}", s.recall);
    assert!(s.precision >= 0.95, "precision {}", s.precision);
    assert!(
        s.height_rmse_m.unwrap() < 0.15,
        "height RMSE {:?}",
        s.height_rmse_m
    );
    assert!(
        s.height_bias_m.unwrap().abs() < 0.1,
        "height bias {:?}",
        s.height_bias_m
    );
    assert!(labelled > 10_000);
}

#[test]
fn watershed_points_detection_and_p2r_also_work() {
    type Variant = (&'static str, Box<dyn Fn(&mut TreesParams)>);
    let variants: Vec<Variant> = vec![
        (
            "watershed",
            Box::new(|t: &mut TreesParams| t.segment = SegmentMethod::Watershed),
        ),
        (
            "points, lidR window 0.07h+3",
            Box::new(|t: &mut TreesParams| {
                t.detect_on = DetectOn::Points;
                t.lmf.linear = [0.07, 3.0];
                t.lmf.ws_min_m = 3.0;
                t.lmf.ws_max_m = 5.0;
            }),
        ),
        (
            "p2r CHM with subcircle 0.15",
            Box::new(|t: &mut TreesParams| {
                t.chm.method = ChmMethod::P2r;
                t.chm.subcircle_m = 0.15;
            }),
        ),
    ];
    for (name, f) in variants {
        let (s, n, _) = run(&scene(), f);
        eprintln!("{name}: {n} trees, {s:?}");
        assert!(s.recall >= 0.85, "{name}: recall {}", s.recall);
        assert!(s.precision >= 0.95, "{name}: precision {}", s.precision);
        assert!(
            s.height_rmse_m.unwrap() < 0.15,
            "{name}: height RMSE {:?}",
            s.height_rmse_m
        );
    }
}
