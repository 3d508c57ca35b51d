//! Matching detected trees to field (reference) trees, and the detection scores.
//!
//! Candidates: every pair (reference r, detected d) with horizontal distance ≤
//! `max_distance_m` (default 3 m) and, when both have a height, `|h_d − h_r| ≤
//! max_height_diff · h_r` (default 0.3, i.e. 30 %). Each tree is matched at most once
//! (one-to-one), by one of two assignments ([`Assignment`]):
//! * `greedy` (default): candidates in order of increasing distance (ties by reference, then
//!   detected index), accepted when neither tree is matched yet — the nearest pair first, as
//!   in most ITD benchmarks (e.g. Eysn et al. 2015);
//! * `optimal`: the assignment with the most matches and, among those, the smallest total
//!   distance (Hungarian algorithm, Kuhn 1955, on each connected group of candidates). It
//!   finds a partner for a tree whose nearest detection the greedy rule gave to a neighbour,
//!   so it never matches fewer pairs than greedy.
//!
//! Scores ([`evaluate`]), for a subset of reference trees that "count" (a height class) and a
//! subset of detected trees that can be false positives (the same class by their own height):
//! * TP = matched pairs whose reference counts; FN = counted references left unmatched;
//! * FP = counted detections left unmatched (a detection matched to a reference of another
//!   class belongs to that class: it is neither TP nor FP here);
//! * detections of the class = TP + FP; recall = TP/(TP+FN), precision = TP/(TP+FP),
//!   F = 2·P·R/(P+R);
//! * height RMSE and bias (detected − reference) and DBH RMSE over the TP pairs that carry the
//!   values.
//!
//! [`evaluate_plot_in`] puts it together for a field plot. The plot is a given polygon, or the
//! convex hull (or the bounding box) of the reference trees; detections within
//! `plot_buffer_m` of it are in the plot. Both sets are **clipped to the plot before
//! matching**: a detection outside the plot can neither match nor be a false positive (a
//! tiled ALS scene extends beyond the plot, and its trees were not inventoried), so TP + FP =
//! detections in the plot. The suppressed layer is cut at `top_height_fraction` (default ½)
//! of the top height, the mean height of the `top_trees_per_ha` (default 100) tallest
//! reference trees per hectare of plot, or at an absolute `min_height_m`. Scores are given
//! over all reference trees, over those above the cut, and per height class at
//! `class_fractions` of the top height (default ½ and ⅘: the stand layers III, II, I of
//! Pretzsch 2009); each detection in the plot belongs to exactly one class (a matched one to
//! its reference's, an unmatched one to its own height's), so the classes add up to the
//! "all" row.
//!
//! The default buffer (1 m) is there because the hull runs through the outermost stems: their
//! tops, and the detections of them, lean outwards, and without a buffer a correct detection
//! of an edge tree would be dropped and the tree counted as missed. A buffer wider than that
//! lets in the tops of uninventoried trees just outside the plot as false positives.
//!
//! References: Eysn L. et al. (2015). A benchmark of lidar-based single tree detection methods
//! using heterogeneous forest data from the Alpine Space. Forests 6(5), 1721–1747. Pretzsch H.
//! (2009). Forest Dynamics, Growth and Yield. Springer (stand layers by share of top height).
//!
//! See also: [`super::hull`] (the plot boundary from the reference trees).

/// A tree to match: position, height and DBH when known.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MatchTree {
    pub x: f64,
    pub y: f64,
    pub height_m: Option<f64>,
    pub dbh_cm: Option<f64>,
}

impl MatchTree {
    /// A tree at `(x, y)` of known height, DBH unknown (a detection, a synthetic truth).
    pub fn with_height(x: f64, y: f64, height_m: f64) -> MatchTree {
        MatchTree {
            x,
            y,
            height_m: Some(height_m),
            dbh_cm: None,
        }
    }
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

/// How candidate pairs are turned into one-to-one matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Assignment {
    /// Nearest pair first.
    Greedy,
    /// Most matches, then least total distance (Hungarian).
    Optimal,
}

impl std::str::FromStr for Assignment {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "greedy" => Ok(Assignment::Greedy),
            "optimal" | "hungarian" => Ok(Assignment::Optimal),
            _ => Err(format!("unknown assignment '{s}' (greedy or optimal)")),
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

/// One-to-one matching with `assignment` (see the module doc); matches sorted by reference.
pub fn match_trees_with(
    reference: &[MatchTree],
    detected: &[MatchTree],
    rule: &MatchRule,
    assignment: Assignment,
) -> Vec<Match> {
    match assignment {
        Assignment::Greedy => match_trees(reference, detected, rule),
        Assignment::Optimal => optimal(&candidates(reference, detected, rule), reference.len()),
    }
}

fn candidates(reference: &[MatchTree], detected: &[MatchTree], rule: &MatchRule) -> Vec<Match> {
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
    cand
}

/// One-to-one greedy matching, nearest pair first (see the module doc); sorted by reference.
pub fn match_trees(
    reference: &[MatchTree],
    detected: &[MatchTree],
    rule: &MatchRule,
) -> Vec<Match> {
    let mut cand = candidates(reference, detected, rule);
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
    out.sort_by_key(|m| m.reference);
    out
}

/// Maximum-cardinality, minimum-distance matching of the candidates, solved per connected
/// group of candidates with the Hungarian algorithm.
fn optimal(cand: &[Match], n_ref: usize) -> Vec<Match> {
    // Connected groups over references (union–find through shared detections).
    let mut parent: Vec<usize> = (0..n_ref).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let mut first_ref_of_det: std::collections::HashMap<usize, usize> = Default::default();
    for m in cand {
        if let Some(&r) = first_ref_of_det.get(&m.detected) {
            let (a, b) = (find(&mut parent, r), find(&mut parent, m.reference));
            parent[a] = b;
        } else {
            first_ref_of_det.insert(m.detected, m.reference);
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<&Match>> = Default::default();
    for m in cand {
        let g = find(&mut parent, m.reference);
        groups.entry(g).or_default().push(m);
    }
    let mut out = Vec::new();
    for (_, ms) in groups {
        let mut refs: Vec<usize> = ms.iter().map(|m| m.reference).collect();
        let mut dets: Vec<usize> = ms.iter().map(|m| m.detected).collect();
        refs.sort_unstable();
        refs.dedup();
        dets.sort_unstable();
        dets.dedup();
        // Rows = the smaller side.
        let swap = refs.len() > dets.len();
        let (rows, cols) = if swap { (&dets, &refs) } else { (&refs, &dets) };
        // Infeasible pairs cost more than all feasible ones together, so the solution first
        // maximizes the number of feasible pairs, then minimizes their total distance.
        let big = 1.0 + ms.iter().map(|m| m.distance_m).sum::<f64>();
        let mut cost = vec![vec![big; cols.len()]; rows.len()];
        for m in &ms {
            let (r, c) = if swap {
                (m.detected, m.reference)
            } else {
                (m.reference, m.detected)
            };
            let i = rows.binary_search(&r).expect("row");
            let j = cols.binary_search(&c).expect("col");
            cost[i][j] = m.distance_m;
        }
        for (i, j) in hungarian(&cost) {
            if cost[i][j] < big {
                let (r, d) = if swap {
                    (cols[j], rows[i])
                } else {
                    (rows[i], cols[j])
                };
                out.push(Match {
                    reference: r,
                    detected: d,
                    distance_m: cost[i][j],
                });
            }
        }
    }
    out.sort_by_key(|m| m.reference);
    out
}

/// Minimum-cost assignment of every row of `cost` (rows ≤ columns) to a distinct column
/// (Hungarian algorithm with potentials, O(rows²·columns)); returns `(row, column)` pairs.
fn hungarian(cost: &[Vec<f64>]) -> Vec<(usize, usize)> {
    let n = cost.len();
    if n == 0 {
        return Vec::new();
    }
    let m = cost[0].len();
    // 1-based arrays, column 0 is a virtual start.
    let mut u = vec![0.0f64; n + 1];
    let mut v = vec![0.0f64; m + 1];
    let mut p = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=m {
                if !used[j] {
                    let cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    (1..=m)
        .filter(|&j| p[j] != 0)
        .map(|j| (p[j] - 1, j - 1))
        .collect()
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
/// `det_counts[j]` (see the module doc). A matched detection is attributed to the class of its
/// reference, an unmatched one to its own: `n_detected` = TP + FP, the detections attributed to
/// the counted class.
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
        n_detected: tp + fp,
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

/// `true` when `(x, y)` lies in the simple polygon `poly` (either orientation, on its edge
/// included) or within `buffer_m` of it.
pub fn in_plot(poly: &[[f64; 2]], x: f64, y: f64, buffer_m: f64) -> bool {
    if polygon_contains(poly, x, y) {
        return true;
    }
    buffer_m > 0.0 && distance_to_boundary(poly, x, y) <= buffer_m
}

/// Distance from `(x, y)` to the nearest edge of `poly` (∞ for an empty polygon).
pub fn distance_to_boundary(poly: &[[f64; 2]], x: f64, y: f64) -> f64 {
    let n = poly.len();
    (0..n)
        .map(|i| {
            let a = poly[i];
            let b = poly[(i + 1) % n];
            let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
            let l2 = dx * dx + dy * dy;
            let t = if l2 > 0.0 {
                (((x - a[0]) * dx + (y - a[1]) * dy) / l2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            ((x - a[0] - t * dx).powi(2) + (y - a[1] - t * dy).powi(2)).sqrt()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Even–odd point-in-polygon test for a simple polygon (convex or not); points on an edge
/// (within 1 nm) are inside.
pub fn polygon_contains(poly: &[[f64; 2]], x: f64, y: f64) -> bool {
    if poly.len() < 3 {
        return false;
    }
    if distance_to_boundary(poly, x, y) <= 1e-9 {
        return true;
    }
    let n = poly.len();
    let mut inside = false;
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (poly[i], poly[j]);
        if (a[1] > y) != (b[1] > y) && x < (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]) + a[0] {
            inside = !inside;
        }
        j = i;
    }
    inside
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

/// How the plot boundary is derived from the reference trees (a polygon given to
/// [`evaluate_plot_in`] replaces it).
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
/// Defaults: match within 3 m and 30 % of the reference height, greedy; plot = convex hull of
/// the reference trees grown by `plot_buffer_m` = 1 m (the hull runs through the outermost
/// stems, whose tops lean up to a metre or two outwards; see [`evaluate_plot`]); the
/// suppressed layer is cut at half the top height, the top height being the mean height of
/// the 100 tallest reference trees per hectare of plot; height classes at ½ and ⅘ of the top
/// height (Pretzsch's stand layers III / II / I).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalParams {
    /// Maximum horizontal distance of a match, metres.
    pub max_distance_m: f64,
    /// Maximum height difference of a match, fraction of the reference height.
    pub max_height_diff: f64,
    /// `greedy` or `optimal`.
    pub assignment: Assignment,
    /// Plot boundary from the reference trees: `hull`, `bbox` or `none`.
    pub plot: PlotRule,
    /// Detections this far outside the plot boundary are still in the plot, metres.
    pub plot_buffer_m: f64,
    /// Height cut of the suppressed layer as a fraction of the top height.
    pub top_height_fraction: f64,
    /// Trees per hectare whose mean height is the top height.
    pub top_trees_per_ha: f64,
    /// Absolute height cut in metres; when > 0 it replaces the top-height rule.
    pub min_height_m: f64,
    /// Bounds of the height classes as increasing fractions of the top height.
    pub class_fractions: Vec<f64>,
}

impl Default for EvalParams {
    fn default() -> Self {
        EvalParams {
            max_distance_m: 3.0,
            max_height_diff: 0.3,
            assignment: Assignment::Greedy,
            plot: PlotRule::Hull,
            plot_buffer_m: 1.0,
            top_height_fraction: 0.5,
            top_trees_per_ha: 100.0,
            min_height_m: 0.0,
            class_fractions: vec![0.5, 0.8],
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

    /// Checks the values are in range.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.max_distance_m > 0.0 && self.max_distance_m.is_finite()) {
            return Err(format!(
                "max distance must be > 0, got {}",
                self.max_distance_m
            ));
        }
        if self.max_height_diff.is_nan() || self.max_height_diff < 0.0 {
            return Err(format!(
                "max height difference must be >= 0, got {}",
                self.max_height_diff
            ));
        }
        if !(self.plot_buffer_m >= 0.0 && self.plot_buffer_m.is_finite()) {
            return Err(format!(
                "plot buffer must be >= 0 m, got {}",
                self.plot_buffer_m
            ));
        }
        let c = &self.class_fractions;
        if c.iter().any(|v| !(v.is_finite() && *v > 0.0)) || c.windows(2).any(|w| w[0] >= w[1]) {
            return Err(format!(
                "height class fractions must be positive and increasing, got {c:?}"
            ));
        }
        Ok(())
    }
}

/// Scores of one height class `[lower_m, upper_m)`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClassScores {
    pub lower_m: f64,
    /// `None` = no upper bound.
    pub upper_m: Option<f64>,
    pub scores: Scores,
}

/// Scores over all reference trees, over those above the suppressed layer, and per height
/// class, after clipping both sets to the plot.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PlotEvaluation {
    pub rule: MatchRule,
    pub assignment: Assignment,
    /// Where the plot boundary comes from: `hull`, `bbox`, `none` or `polygon`.
    pub plot_source: String,
    /// Plot polygon, empty with [`PlotRule::None`].
    pub plot: Vec<[f64; 2]>,
    pub plot_buffer_m: f64,
    pub plot_area_m2: f64,
    pub top_height_m: Option<f64>,
    /// Height cut of the suppressed layer, metres.
    pub height_cut_m: f64,
    /// Reference trees inside the plot (all of them unless a polygon is given).
    pub reference_in_plot: usize,
    /// Detections inside the plot (buffered); the only ones matched and scored.
    pub detected_in_plot: usize,
    pub all: Scores,
    pub above_cut: Scores,
    /// Per height class (of the reference tree for a match, of the detection otherwise).
    pub classes: Vec<ClassScores>,
    /// Matched pairs, indices into the full (unclipped) input lists.
    pub matches: Vec<Match>,
}

/// [`evaluate_plot_in`] with the plot from the reference trees (`p.plot`).
pub fn evaluate_plot(
    reference: &[MatchTree],
    detected: &[MatchTree],
    p: &EvalParams,
) -> PlotEvaluation {
    evaluate_plot_in(reference, detected, p, None)
}

/// Clips the trees to the plot, matches them and scores the result (see the module doc).
///
/// The plot is `polygon` when given (reference trees outside it are dropped too), else the
/// hull or bounding box of the reference trees (`p.plot`); detections within
/// `p.plot_buffer_m` of it are in the plot. Only trees in the plot are matched, so every
/// true positive is a detection in the plot and TP + FP = detections in the plot.
pub fn evaluate_plot_in(
    reference: &[MatchTree],
    detected: &[MatchTree],
    p: &EvalParams,
    polygon: Option<&[[f64; 2]]>,
) -> PlotEvaluation {
    let pts: Vec<[f64; 2]> = reference.iter().map(|t| [t.x, t.y]).collect();
    let (plot, source) = match (polygon, p.plot) {
        (Some(poly), _) => (poly.to_vec(), "polygon"),
        (None, PlotRule::Hull) => (super::hull::convex_hull(&pts), "hull"),
        (None, PlotRule::Bbox) => {
            let h = super::hull::convex_hull(&pts);
            let bb = if h.is_empty() {
                h
            } else {
                let (mut a, mut b) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
                for q in &h {
                    a = [a[0].min(q[0]), a[1].min(q[1])];
                    b = [b[0].max(q[0]), b[1].max(q[1])];
                }
                vec![a, [b[0], a[1]], b, [a[0], b[1]]]
            };
            (bb, "bbox")
        }
        (None, PlotRule::None) => (Vec::new(), "none"),
    };
    let unbounded = polygon.is_none() && p.plot == PlotRule::None;
    let area = super::hull::polygon_area(&plot);
    // A degenerate hull (under 3 non-collinear trees) is grown by the buffer only.
    let inside = |x: f64, y: f64, buffer: f64| {
        unbounded
            || if plot.len() >= 3 {
                in_plot(&plot, x, y, buffer)
            } else {
                !plot.is_empty() && distance_to_boundary(&plot, x, y) <= buffer
            }
    };
    let ref_idx: Vec<usize> = (0..reference.len())
        .filter(|&i| polygon.is_none() || inside(reference[i].x, reference[i].y, 0.0))
        .collect();
    let det_idx: Vec<usize> = (0..detected.len())
        .filter(|&j| inside(detected[j].x, detected[j].y, p.plot_buffer_m))
        .collect();
    let refs: Vec<MatchTree> = ref_idx.iter().map(|&i| reference[i]).collect();
    let dets: Vec<MatchTree> = det_idx.iter().map(|&j| detected[j]).collect();

    let heights: Vec<f64> = refs.iter().filter_map(|t| t.height_m).collect();
    let n_top = ((p.top_trees_per_ha * area / 10_000.0).round() as usize).max(1);
    let top = top_height(&heights, n_top);
    let cut = if p.min_height_m > 0.0 {
        p.min_height_m
    } else {
        top.map_or(0.0, |t| p.top_height_fraction * t)
    };
    let matches = match_trees_with(&refs, &dets, &p.rule(), p.assignment);
    let all = evaluate(
        &refs,
        &dets,
        &matches,
        &vec![true; refs.len()],
        &vec![true; dets.len()],
    );
    // A class holds the references in `[lo, hi)` and the unmatched detections whose height
    // lies there (those without a height in the top class), so that the classes partition
    // the detections in the plot.
    let class_scores = |lo: f64, hi: f64| {
        let in_class = |h: f64| h >= lo && h < hi;
        let rc: Vec<bool> = refs
            .iter()
            .map(|t| t.height_m.is_some_and(in_class))
            .collect();
        let dc: Vec<bool> = dets
            .iter()
            .map(|d| d.height_m.map_or(hi == f64::INFINITY, in_class))
            .collect();
        evaluate(&refs, &dets, &matches, &rc, &dc)
    };
    let above_cut = class_scores(cut, f64::INFINITY);
    let mut classes = Vec::new();
    if let Some(t) = top {
        let mut bounds = vec![f64::NEG_INFINITY];
        bounds.extend(p.class_fractions.iter().map(|f| f * t));
        bounds.push(f64::INFINITY);
        for w in bounds.windows(2) {
            classes.push(ClassScores {
                lower_m: w[0].max(0.0),
                upper_m: w[1].is_finite().then_some(w[1]),
                scores: class_scores(w[0], w[1]),
            });
        }
    }
    let matches = matches
        .into_iter()
        .map(|m| Match {
            reference: ref_idx[m.reference],
            detected: det_idx[m.detected],
            distance_m: m.distance_m,
        })
        .collect();
    PlotEvaluation {
        rule: p.rule(),
        assignment: p.assignment,
        plot_source: source.to_string(),
        plot,
        plot_buffer_m: p.plot_buffer_m,
        plot_area_m2: area,
        top_height_m: top,
        height_cut_m: cut,
        reference_in_plot: refs.len(),
        detected_in_plot: dets.len(),
        all,
        above_cut,
        classes,
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
        let o = match_trees_with(&r, &d, &MatchRule::default(), Assignment::Optimal);
        assert_eq!(o, m);
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
    fn optimal_matches_more_than_greedy_in_a_chain() {
        // r0—d0 is the closest pair, but d0 is r1's only partner; r0 can take d1.
        let r = vec![t(0.0, 0.0, 20.0), t(2.0, 0.0, 20.0)];
        let d = vec![t(0.9, 0.0, 20.0), t(-1.5, 0.0, 20.0)];
        let rule = MatchRule::default();
        let g = match_trees(&r, &d, &rule);
        assert_eq!(g.len(), 1);
        let o = match_trees_with(&r, &d, &rule, Assignment::Optimal);
        assert_eq!(o.len(), 2);
        assert_eq!((o[0].reference, o[0].detected), (0, 1));
        assert_eq!((o[1].reference, o[1].detected), (1, 0));
        // Hungarian on a small square matrix: the optimum costs 1 + 2 + 2 = 5.
        let c = vec![
            vec![4.0, 1.0, 3.0],
            vec![2.0, 0.0, 5.0],
            vec![3.0, 2.0, 2.0],
        ];
        let a = hungarian(&c);
        assert_eq!(a.len(), 3);
        let total: f64 = a.iter().map(|&(i, j)| c[i][j]).sum();
        assert_eq!(total, 5.0);
    }

    #[test]
    fn detections_outside_the_plot_neither_match_nor_count() {
        // A 20 m square plot of 9 field trees; the scan extends beyond it.
        let mut r = Vec::new();
        for i in 0..3 {
            for j in 0..3 {
                r.push(t(10.0 * i as f64, 10.0 * j as f64, 20.0));
            }
        }
        let mut d = vec![
            t(10.3, 10.0, 20.0), // centre tree, inside
            t(0.5, 0.5, 20.0),   // corner tree, inside
            t(12.0, 16.0, 20.0), // inside, far from any tree: FP
            // The edge tree at (20, 10) is found only 2.5 m outside the hull: with the 1 m
            // buffer it is out of the plot.
            t(22.5, 10.0, 20.0),
            // Two more detections out of the plot, one of them within 3 m of the (0, 20) tree.
            t(-2.0, 21.0, 20.0),
            t(-8.0, 5.0, 20.0),
        ];
        let p = EvalParams::default();
        let e = evaluate_plot(&r, &d, &p);
        assert_eq!(e.detected_in_plot, 3);
        // The old counting matched (20, 10) and (0, 20) to detections out of the plot: TP 4
        // with 3 detections in the plot.
        assert_eq!(e.all.true_positives, 2);
        assert_eq!(e.all.false_positives, 1);
        assert_eq!(e.all.false_negatives, 7);
        assert_eq!(
            e.all.true_positives + e.all.false_positives,
            e.detected_in_plot
        );
        assert_eq!(e.all.n_detected, e.detected_in_plot);
        assert!(e.matches.iter().all(|m| m.detected < 3));
        // With a 3 m buffer the edge detections are in the plot and match.
        let wide = EvalParams {
            plot_buffer_m: 3.0,
            ..p.clone()
        };
        let w = evaluate_plot(&r, &d, &wide);
        assert_eq!((w.detected_in_plot, w.all.true_positives), (5, 4));
        assert_eq!(w.all.true_positives + w.all.false_positives, 5);
        // A given polygon drops the reference trees outside it too.
        let half = [[-0.5, -0.5], [10.5, -0.5], [10.5, 20.5], [-0.5, 20.5]];
        let h = evaluate_plot_in(&r, &d, &p, Some(&half));
        assert_eq!(h.reference_in_plot, 6);
        assert_eq!(h.detected_in_plot, 2); // (12, 16) and (-2, 21) lie 1.5 m out
        assert_eq!((h.all.true_positives, h.all.false_positives), (2, 0));
        // Height classes partition the references and the detections in the plot.
        d.push(t(5.0, 5.0, 6.0)); // a small unmatched detection: FP of the lowest class
        r.push(t(5.2, 5.0, 7.0)); // ... unless a small tree stands there
        r.push(t(15.0, 5.0, 14.0));
        let e = evaluate_plot(&r, &d, &p);
        assert_eq!(e.classes.len(), 3);
        let sum = |f: fn(&Scores) -> usize| e.classes.iter().map(|c| f(&c.scores)).sum::<usize>();
        assert_eq!(sum(|s| s.n_reference), e.all.n_reference);
        assert_eq!(sum(|s| s.n_detected), e.detected_in_plot);
        assert_eq!(sum(|s| s.true_positives), e.all.true_positives);
        assert_eq!(sum(|s| s.false_positives), e.all.false_positives);
        for c in &e.classes {
            let s = &c.scores;
            assert_eq!(s.true_positives + s.false_positives, s.n_detected);
            assert_eq!(s.true_positives + s.false_negatives, s.n_reference);
        }
        // Top height 20 m: classes [0, 10), [10, 16), [16, inf).
        assert_eq!(e.classes[0].upper_m, Some(10.0));
        assert_eq!(e.classes[0].scores.true_positives, 1);
        assert_eq!(e.classes[1].scores.n_reference, 1);
    }

    #[test]
    fn non_convex_polygons_and_buffers() {
        // An L-shaped plot.
        let l = [
            [0.0, 0.0],
            [10.0, 0.0],
            [10.0, 4.0],
            [4.0, 4.0],
            [4.0, 10.0],
            [0.0, 10.0],
        ];
        assert!(polygon_contains(&l, 2.0, 8.0));
        assert!(polygon_contains(&l, 8.0, 2.0));
        assert!(!polygon_contains(&l, 8.0, 8.0));
        assert!(polygon_contains(&l, 10.0, 2.0)); // on an edge
        assert!(in_plot(&l, 5.0, 5.0, 1.5));
        assert!(!in_plot(&l, 8.0, 8.0, 3.0));
        // Clockwise rings work the same.
        let cw: Vec<[f64; 2]> = l.iter().rev().copied().collect();
        assert!(polygon_contains(&cw, 2.0, 8.0) && !polygon_contains(&cw, 8.0, 8.0));
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
