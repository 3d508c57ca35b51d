//! Matching detected trees to field (reference) trees, and the detection scores.
//!
//! Rule (one-to-one, greedy by distance): every pair (reference r, detected d) with horizontal
//! distance ≤ `max_distance_m` (default 3 m) and, when r has a height, `|h_d − h_r| ≤
//! max_height_diff · h_r` (default 0.3, i.e. 30 %) is a candidate. Candidates are taken in
//! order of increasing distance (ties by reference, then detected index); a candidate is
//! accepted when neither tree is matched yet. Greedy matching is what most ITD benchmarks use
//! (e.g. Eysn et al. 2015 take the nearest pair first); it can differ from an optimal
//! (Hungarian) assignment in rare chains of near-equal distances.
//!
//! Scores ([`evaluate`]), for a subset of reference trees that "count" (e.g. above the
//! suppressed layer) and a subset of detected trees that can be false positives (inside the
//! plot, and above the same height cut):
//! * TP = matched pairs whose reference counts; FN = counted references left unmatched;
//! * FP = counted detections left unmatched (a detection matched to a reference that does not
//!   count is neither TP nor FP);
//! * recall = TP/(TP+FN), precision = TP/(TP+FP), F = 2·P·R/(P+R);
//! * height RMSE and bias (detected − reference) and DBH RMSE over the TP pairs that carry the
//!   values.
//!
//! Reference: Eysn L. et al. (2015). A benchmark of lidar-based single tree detection methods
//! using heterogeneous forest data from the Alpine Space. Forests 6(5), 1721–1747.
//!
//! See also: [`super::hull`] (the plot boundary from the reference trees).

use super::hull::convex_contains;

/// A tree to match: position, height and DBH when known.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MatchTree {
    pub x: f64,
    pub y: f64,
    pub height_m: Option<f64>,
    pub dbh_cm: Option<f64>,
}

/// The matching rule.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchRule {
    /// Maximum horizontal distance, metres.
    pub max_distance_m: f64,
    /// Maximum height difference as a fraction of the reference height.
    pub max_height_diff: f64,
}

impl Default for MatchRule {
    fn default() -> Self {
        MatchRule {
            max_distance_m: 3.0,
            max_height_diff: 0.3,
        }
    }
}

/// A matched pair: indices into the reference and detected lists, and their distance.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Match {
    pub reference: usize,
    pub detected: usize,
    pub distance_m: f64,
}

/// One-to-one greedy matching (see the module doc).
pub fn match_trees(
    reference: &[MatchTree],
    detected: &[MatchTree],
    rule: &MatchRule,
) -> Vec<Match> {
    let mut cand: Vec<Match> = Vec::new();
    let r2 = rule.max_distance_m * rule.max_distance_m;
    for (i, r) in reference.iter().enumerate() {
        for (j, d) in detected.iter().enumerate() {
            let dd = (r.x - d.x).powi(2) + (r.y - d.y).powi(2);
            if dd > r2 {
                continue;
            }
            if let (Some(hr), Some(hd)) = (r.height_m, d.height_m) {
                if (hd - hr).abs() > rule.max_height_diff * hr {
                    continue;
                }
            }
            cand.push(Match {
                reference: i,
                detected: j,
                distance_m: dd.sqrt(),
            });
        }
    }
    cand.sort_by(|a, b| {
        a.distance_m
            .total_cmp(&b.distance_m)
            .then(a.reference.cmp(&b.reference))
            .then(a.detected.cmp(&b.detected))
    });
    let mut ref_used = vec![false; reference.len()];
    let mut det_used = vec![false; detected.len()];
    let mut out = Vec::new();
    for m in cand {
        if !ref_used[m.reference] && !det_used[m.detected] {
            ref_used[m.reference] = true;
            det_used[m.detected] = true;
            out.push(m);
        }
    }
    out
}

/// Detection scores.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Scores {
    pub n_reference: usize,
    pub n_detected: usize,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub recall: f64,
    pub precision: f64,
    pub f_score: f64,
    /// Over matched pairs with both heights.
    pub height_rmse_m: Option<f64>,
    /// Mean (detected − reference) height.
    pub height_bias_m: Option<f64>,
    /// Over matched pairs with both DBHs.
    pub dbh_rmse_cm: Option<f64>,
    pub n_dbh_pairs: usize,
}

/// Scores of `matches` for the reference trees with `ref_counts[i]` and the detections with
/// `det_counts[j]` (see the module doc).
pub fn evaluate(
    reference: &[MatchTree],
    detected: &[MatchTree],
    matches: &[Match],
    ref_counts: &[bool],
    det_counts: &[bool],
) -> Scores {
    let mut ref_matched = vec![false; reference.len()];
    let mut det_matched = vec![false; detected.len()];
    let (mut tp, mut sh, mut sh2, mut nh, mut sd2, mut nd) = (0, 0.0, 0.0, 0, 0.0, 0);
    for m in matches {
        ref_matched[m.reference] = true;
        det_matched[m.detected] = true;
        if !ref_counts[m.reference] {
            continue;
        }
        tp += 1;
        let (r, d) = (&reference[m.reference], &detected[m.detected]);
        if let (Some(hr), Some(hd)) = (r.height_m, d.height_m) {
            sh += hd - hr;
            sh2 += (hd - hr).powi(2);
            nh += 1;
        }
        if let (Some(a), Some(b)) = (r.dbh_cm, d.dbh_cm) {
            sd2 += (b - a).powi(2);
            nd += 1;
        }
    }
    let n_ref = ref_counts.iter().filter(|&&c| c).count();
    let n_det = det_counts.iter().filter(|&&c| c).count();
    let fn_ = (0..reference.len())
        .filter(|&i| ref_counts[i] && !ref_matched[i])
        .count();
    let fp = (0..detected.len())
        .filter(|&j| det_counts[j] && !det_matched[j])
        .count();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let recall = ratio(tp, tp + fn_);
    let precision = ratio(tp, tp + fp);
    let f = if recall + precision > 0.0 {
        2.0 * recall * precision / (recall + precision)
    } else {
        0.0
    };
    Scores {
        n_reference: n_ref,
        n_detected: n_det,
        true_positives: tp,
        false_positives: fp,
        false_negatives: fn_,
        recall,
        precision,
        f_score: f,
        height_rmse_m: (nh > 0).then(|| (sh2 / nh as f64).sqrt()),
        height_bias_m: (nh > 0).then(|| sh / nh as f64),
        dbh_rmse_cm: (nd > 0).then(|| (sd2 / nd as f64).sqrt()),
        n_dbh_pairs: nd,
    }
}

/// `true` when `(x, y)` lies in the convex polygon `poly` or within `buffer_m` of it.
pub fn in_plot(poly: &[[f64; 2]], x: f64, y: f64, buffer_m: f64) -> bool {
    if convex_contains(poly, x, y) {
        return true;
    }
    if buffer_m <= 0.0 || poly.is_empty() {
        return false;
    }
    (0..poly.len()).any(|i| {
        let a = poly[i];
        let b = poly[(i + 1) % poly.len()];
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let l2 = dx * dx + dy * dy;
        let t = if l2 > 0.0 {
            (((x - a[0]) * dx + (y - a[1]) * dy) / l2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (px, py) = (a[0] + t * dx, a[1] + t * dy);
        (x - px).powi(2) + (y - py).powi(2) <= buffer_m * buffer_m
    })
}

/// Top height: mean height of the `n` tallest trees (e.g. 100 per hectare of plot area).
pub fn top_height(heights: &[f64], n: usize) -> Option<f64> {
    let mut h: Vec<f64> = heights.iter().copied().filter(|v| v.is_finite()).collect();
    if h.is_empty() || n == 0 {
        return None;
    }
    h.sort_by(|a, b| b.total_cmp(a));
    let k = n.min(h.len());
    Some(h[..k].iter().sum::<f64>() / k as f64)
}

/// How the plot boundary is derived from the reference trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlotRule {
    /// Convex hull of the reference positions.
    Hull,
    /// Bounding box of the reference positions.
    Bbox,
    /// No plot: every detection counts.
    None,
}

impl std::str::FromStr for PlotRule {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "hull" => Ok(PlotRule::Hull),
            "bbox" => Ok(PlotRule::Bbox),
            "none" => Ok(PlotRule::None),
            _ => Err(format!("unknown plot rule '{s}' (hull, bbox or none)")),
        }
    }
}

/// Evaluation settings (the `[eval_trees]` section).
///
/// Defaults: match within 3 m and 30 % of the reference height; plot = convex hull of the
/// reference trees (no buffer); the suppressed layer is cut at half the top height, the top
/// height being the mean height of the 100 tallest reference trees per hectare of plot.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalParams {
    pub max_distance_m: f64,
    pub max_height_diff: f64,
    pub plot: PlotRule,
    pub plot_buffer_m: f64,
    /// Height cut of the suppressed layer as a fraction of the top height.
    pub top_height_fraction: f64,
    /// Trees per hectare whose mean height is the top height.
    pub top_trees_per_ha: f64,
    /// Absolute height cut in metres; when > 0 it replaces the top-height rule.
    pub min_height_m: f64,
}

impl Default for EvalParams {
    fn default() -> Self {
        EvalParams {
            max_distance_m: 3.0,
            max_height_diff: 0.3,
            plot: PlotRule::Hull,
            plot_buffer_m: 0.0,
            top_height_fraction: 0.5,
            top_trees_per_ha: 100.0,
            min_height_m: 0.0,
        }
    }
}

impl EvalParams {
    /// The matching rule.
    pub fn rule(&self) -> MatchRule {
        MatchRule {
            max_distance_m: self.max_distance_m,
            max_height_diff: self.max_height_diff,
        }
    }
}

/// Scores over all reference trees and over those above the suppressed layer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlotEvaluation {
    pub rule: MatchRule,
    /// Plot polygon (counter-clockwise), empty with [`PlotRule::None`].
    pub plot: Vec<[f64; 2]>,
    pub plot_area_m2: f64,
    pub top_height_m: Option<f64>,
    /// Height cut of the suppressed layer, metres.
    pub height_cut_m: f64,
    /// Detections inside the plot.
    pub detected_in_plot: usize,
    pub all: Scores,
    pub above_cut: Scores,
    pub matches: Vec<Match>,
}

/// Matches `detected` to `reference` and scores the result on the plot (see the module doc).
pub fn evaluate_plot(
    reference: &[MatchTree],
    detected: &[MatchTree],
    p: &EvalParams,
) -> PlotEvaluation {
    let pts: Vec<[f64; 2]> = reference.iter().map(|t| [t.x, t.y]).collect();
    let plot = match p.plot {
        PlotRule::Hull => super::hull::convex_hull(&pts),
        PlotRule::Bbox => {
            let h = super::hull::convex_hull(&pts);
            if h.is_empty() {
                h
            } else {
                let (mut a, mut b) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
                for q in &h {
                    a = [a[0].min(q[0]), a[1].min(q[1])];
                    b = [b[0].max(q[0]), b[1].max(q[1])];
                }
                vec![a, [b[0], a[1]], b, [a[0], b[1]]]
            }
        }
        PlotRule::None => Vec::new(),
    };
    let area = super::hull::polygon_area(&plot);
    let in_plot_det: Vec<bool> = detected
        .iter()
        .map(|d| p.plot == PlotRule::None || in_plot(&plot, d.x, d.y, p.plot_buffer_m))
        .collect();
    let heights: Vec<f64> = reference.iter().filter_map(|t| t.height_m).collect();
    let n_top = ((p.top_trees_per_ha * area / 10_000.0).round() as usize).max(1);
    let top = top_height(&heights, n_top);
    let cut = if p.min_height_m > 0.0 {
        p.min_height_m
    } else {
        top.map_or(0.0, |t| p.top_height_fraction * t)
    };
    let matches = match_trees(reference, detected, &p.rule());
    let all = evaluate(
        reference,
        detected,
        &matches,
        &vec![true; reference.len()],
        &in_plot_det,
    );
    let ref_above: Vec<bool> = reference
        .iter()
        .map(|t| t.height_m.is_some_and(|h| h >= cut))
        .collect();
    let det_above: Vec<bool> = detected
        .iter()
        .zip(&in_plot_det)
        .map(|(d, &inp)| inp && d.height_m.is_none_or(|h| h >= cut))
        .collect();
    let above_cut = evaluate(reference, detected, &matches, &ref_above, &det_above);
    PlotEvaluation {
        rule: p.rule(),
        plot,
        plot_area_m2: area,
        top_height_m: top,
        height_cut_m: cut,
        detected_in_plot: in_plot_det.iter().filter(|&&b| b).count(),
        all,
        above_cut,
        matches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(x: f64, y: f64, h: f64) -> MatchTree {
        MatchTree {
            x,
            y,
            height_m: Some(h),
            dbh_cm: None,
        }
    }

    #[test]
    fn greedy_one_to_one_with_height_rule() {
        let r = vec![t(0.0, 0.0, 20.0), t(2.0, 0.0, 20.0), t(10.0, 0.0, 10.0)];
        let d = vec![
            t(1.2, 0.0, 21.0),  // 1.2 from r0, 0.8 from r1
            t(-0.5, 0.0, 19.0), // 0.5 from r0
            t(10.0, 1.0, 15.0), // too tall for r2 (50 %)
        ];
        let m = match_trees(&r, &d, &MatchRule::default());
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].reference, m[0].detected), (0, 1));
        assert_eq!((m[1].reference, m[1].detected), (1, 0));
        let s = evaluate(&r, &d, &m, &[true; 3], &[true; 3]);
        assert_eq!(
            (s.true_positives, s.false_positives, s.false_negatives),
            (2, 1, 1)
        );
        assert!((s.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.f_score - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.height_bias_m.unwrap() - 0.0).abs() < 1e-12);
        assert!((s.height_rmse_m.unwrap() - 1.0).abs() < 1e-12);
        // Not counting r1: its match is neither TP nor FP.
        let s = evaluate(&r, &d, &m, &[true, false, true], &[true; 3]);
        assert_eq!(
            (s.true_positives, s.false_positives, s.false_negatives),
            (1, 1, 1)
        );
    }

    #[test]
    fn plot_and_top_height() {
        let sq = vec![[0.0, 0.0], [10.0, 0.0], [10.0, 10.0], [0.0, 10.0]];
        assert!(in_plot(&sq, 5.0, 5.0, 0.0));
        assert!(!in_plot(&sq, 10.5, 5.0, 0.0));
        assert!(in_plot(&sq, 10.5, 5.0, 1.0));
        assert!(!in_plot(&sq, 11.0, 11.0, 1.0));
        assert_eq!(top_height(&[1.0, 5.0, 3.0], 2), Some(4.0));
        assert_eq!(top_height(&[], 2), None);
    }
}
