//! Regression guard: ground classification accuracy with default parameters on the 9 ISPRS
//! filter-test samples bundled in testdata/isprs (Sithole & Vosselman 2004; reference class 2 =
//! ground, 0 = object). The guards sit a little above the total errors measured when they were
//! set (in parentheses), so a change that makes any sample clearly worse fails here; the full
//! table comes from `scripts/eval-isprs.sh`.

use landcarbon::algo::ground::{classify_ground, eval::Confusion, GroundConfig};
use landcarbon::points;
use landcarbon::testdata::bundled;

/// (sample, total-error guard in %) — measured with the defaults: 11 7.57, 12 2.54, 21 1.19,
/// 22 2.95, 23 5.50, 24 3.38, 31 2.46, 41 2.65, 42 1.31; mean 3.28 (issue #14: at most 3.3 %;
/// it was 3.94 % before the raised-segment step and the 14 m window). Shifting the data by
/// fractions of a cell moves the mean between 3.28 and 3.51 %, sample 41 between 2.65 and
/// 4.35 %, so the per-sample guards leave room for that; the mean guard is the target itself.
const GUARDS: [(&str, f64); 9] = [
    ("samp11", 8.0),
    ("samp12", 3.0),
    ("samp21", 1.6),
    ("samp22", 3.4),
    ("samp23", 6.0),
    ("samp24", 3.9),
    ("samp31", 2.9),
    ("samp41", 4.6),
    ("samp42", 1.8),
];
const MEAN_GUARD: f64 = 3.3;

#[test]
fn isprs_total_error_with_defaults() {
    let cfg = GroundConfig::default();
    let mut total = 0.0;
    let mut report = String::new();
    let mut failed = Vec::new();
    for (name, guard) in GUARDS {
        let path = bundled(&format!("isprs/{name}-utm.laz"));
        let reference = points::read(&path).expect("bundled ISPRS sample");
        let mut cloud = reference.clone();
        classify_ground(&mut cloud, &cfg).expect("classification");
        let c = Confusion::from_classes(&reference.classification, &cloud.classification).unwrap();
        let te = 100.0 * c.total();
        report += &format!(
            "{name}: type I {:.2} %, type II {:.2} %, total {te:.2} % (guard {guard}), kappa {:.1} %\n",
            100.0 * c.type1(),
            100.0 * c.type2(),
            100.0 * c.kappa()
        );
        if te > guard {
            failed.push(name);
        }
        total += te;
    }
    let mean = total / GUARDS.len() as f64;
    eprintln!("{report}mean total error {mean:.2} % (guard {MEAN_GUARD})");
    assert!(
        failed.is_empty(),
        "samples above their guard: {failed:?}\n{report}"
    );
    assert!(
        mean <= MEAN_GUARD,
        "mean total error {mean:.2} % > {MEAN_GUARD} %\n{report}"
    );
}
