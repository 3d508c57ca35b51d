//! The standard area-based (ABA) metric set on normalized heights: what a plot or a grid cell's
//! returns look like, as numbers a biomass model can use.
//!
//! The set follows lidR's `stdmetrics` (`stdmetrics_z`, `stdmetrics_i`, `stdmetrics_rn`,
//! lidR 4.x, `dz = 1`, `th = 2`, `zmin = 0`) wherever lidR defines a metric. It adds canopy
//! cover, mean canopy height and Næsset's density deciles. Every metric is computed from one
//! *population* of returns, selected in this order:
//! 1. noise (class 7 and 18) and withheld points are dropped when `drop_noise` is set
//!    (default `true`; lidR keeps them — the one default that departs from lidR);
//! 2. the return filter `returns` keeps all returns (default, as lidR), first returns
//!    (`return_number == 1`), last returns, or single returns;
//! 3. `min_height_m`, when set, drops returns lower than it (`z >= min_height_m` is kept, as
//!    lidaRtRee's `aba_metrics` with `hmin = 2`); unset by default, as lidR.
//!
//! With `z` the population's heights (m), `n` its size, `m` = zmean, `hb` = `height_break_m`
//! (default 2 m):
//!
//! | name | definition |
//! |---|---|
//! | `n` | number of returns in the population |
//! | `zmax`, `zmean` | max and mean of z |
//! | `zsd` | sample standard deviation, divisor n − 1 (R `sd`); NaN for n < 2 |
//! | `zcv` | zsd / zmean × 100 (%) — not in lidR; FUSION's "Elev CV" as a percentage |
//! | `zskew` | (Σ(z−m)³/n) / (Σ(z−m)²/n)^1.5 (lidR) |
//! | `zkurt` | n·Σ(z−m)⁴ / (Σ(z−m)²)² — Pearson kurtosis, not excess (lidR) |
//! | `zentropy` | lidR `entropy(z, by = entropy_bin_m)`: bins `[k·dz, (k+1)·dz)` from 0 to `ceiling(zmax/dz)·dz`; returns on the top break fall out of the histogram (lidR's `fast_table`); −Σp ln p / ln(number of bins). NaN when zmax < 2·dz or any z < 0 |
//! | `pzabovezmean` | % of z > zmean |
//! | `pzabove2` | % of z > 2 m (lidR's `th = 2`; fixed at 2 m whatever the height break, so the name stays true) |
//! | `zq5` … `zq95` | quantiles at p = 0.05, 0.10, …, 0.95, R type 7: h = (n−1)p, z₍⌊h⌋₎ + (h−⌊h⌋)(z₍⌊h⌋+1₎ − z₍⌊h⌋₎) on the sorted z (0-based) |
//! | `zpcum1` … `zpcum9` | lidR's zpcum with `zmin = zpcum_min_m` (0): of the returns with z > zmin, breaks b_k = min(zmin + k·(zmax−zmin)/10, zmax), k = 0..10; bins [b_{k−1}, b_k); zpcum_i = cumulative % of the counted returns in the lowest i bins. As in lidR, returns at z ≥ b₁₀ (i.e. at zmax) are not counted. All 0 when zmax ≤ zmin |
//! | `cover` | canopy cover: % of *first* returns (return_number 1, after the noise filter but ignoring the return filter and `min_height_m`) with z > hb. NaN when there is no first return |
//! | `mch` | mean canopy height: mean z of first returns with z > hb (Bouvier et al. 2015 μ_CH, lidaRtRee `mCH`, there with z ≥ hb); NaN when none |
//! | `d0` … `d9` | Næsset (2002) density deciles: with q = type-7 95th percentile of the population z > hb, thresholds t_k = hb + k·(q − hb)/10; d_k = % of the population with z > t_k. All 0 when no return is above hb |
//! | `itot`, `imax`, `imean` | sum, max and mean of intensity |
//! | `isd`, `iskew`, `ikurt` | as zsd, zskew, zkurt on intensity |
//! | `ipground` | Σ intensity of class-2 returns / itot × 100 |
//! | `ipcumzq10` … `ipcumzq90` | Σ intensity of returns with z ≤ the type-7 z quantile at 0.1, 0.3, 0.5, 0.7, 0.9 / itot × 100 |
//! | `p1th` … `p5th` | % of the population with return_number 1 … 5 |
//! | `pground` | % of the population with class 2 |
//!
//! Every share is a percentage (0–100), as lidR's. Undefined values are NaN here; writers turn
//! them into nodata (rasters) or `NA` (tables) — NaN never reaches an output.
//!
//! Comparisons follow lidR exactly: "above" is strict (`fast_countover` is `>`), quantile
//! probabilities are formed as R's `seq` forms them (0.05 + k·0.05), and breaks as R's `seq`
//! clamps them (`pmin(x, to)`), so the values equal lidR's to rounding on the same returns.
//!
//! Cost: one gathering pass, one sort of the heights and a second pass over the population
//! per plot or cell; [`MetricComputer`] reuses its buffers between calls.
//!
//! References: Roussel et al. 2020 (lidR), lidR `R/metrics_stdmetrics.R`; Næsset 2002 (RSE
//! 80:88–99); Bouvier et al. 2015 (RSE 156:322–334); Pretzsch 2008 (entropy).
//!
//! See also: [`crate::algo::grid_metrics`] (the same set on a grid), the biomass plot metrics.

use crate::points::class;

/// Names of the metrics, in the order of every metric vector, raster band and table column.
pub const METRIC_NAMES: [&str; 68] = [
    "n",
    "zmax",
    "zmean",
    "zsd",
    "zcv",
    "zskew",
    "zkurt",
    "zentropy",
    "pzabovezmean",
    "pzabove2",
    "zq5",
    "zq10",
    "zq15",
    "zq20",
    "zq25",
    "zq30",
    "zq35",
    "zq40",
    "zq45",
    "zq50",
    "zq55",
    "zq60",
    "zq65",
    "zq70",
    "zq75",
    "zq80",
    "zq85",
    "zq90",
    "zq95",
    "zpcum1",
    "zpcum2",
    "zpcum3",
    "zpcum4",
    "zpcum5",
    "zpcum6",
    "zpcum7",
    "zpcum8",
    "zpcum9",
    "cover",
    "mch",
    "d0",
    "d1",
    "d2",
    "d3",
    "d4",
    "d5",
    "d6",
    "d7",
    "d8",
    "d9",
    "itot",
    "imax",
    "imean",
    "isd",
    "iskew",
    "ikurt",
    "ipground",
    "ipcumzq10",
    "ipcumzq30",
    "ipcumzq50",
    "ipcumzq70",
    "ipcumzq90",
    "p1th",
    "p2th",
    "p3th",
    "p4th",
    "p5th",
    "pground",
];

/// Number of metrics.
pub const N_METRICS: usize = METRIC_NAMES.len();

/// Index of a metric name in [`METRIC_NAMES`].
pub fn metric_index(name: &str) -> Option<usize> {
    METRIC_NAMES.iter().position(|m| *m == name)
}

// Offsets into the metric vector.
const I_N: usize = 0;
const I_ZMAX: usize = 1;
const I_ZMEAN: usize = 2;
const I_ZSD: usize = 3;
const I_ZCV: usize = 4;
const I_ZSKEW: usize = 5;
const I_ZKURT: usize = 6;
const I_ZENTROPY: usize = 7;
const I_PZABOVEZMEAN: usize = 8;
const I_PZABOVE2: usize = 9;
const I_ZQ: usize = 10; // 19 values
const I_ZPCUM: usize = 29; // 9 values
const I_COVER: usize = 38;
const I_MCH: usize = 39;
const I_D: usize = 40; // 10 values
const I_ITOT: usize = 50;
const I_IMAX: usize = 51;
const I_IMEAN: usize = 52;
const I_ISD: usize = 53;
const I_ISKEW: usize = 54;
const I_IKURT: usize = 55;
const I_IPGROUND: usize = 56;
const I_IPCUM: usize = 57; // 5 values
const I_P1TH: usize = 62; // 5 values
const I_PGROUND: usize = 67;

/// Which returns form the metric population.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnFilter {
    /// Every return (lidR's default).
    #[default]
    All,
    /// `return_number == 1` (first and single returns).
    First,
    /// `return_number == number_of_returns` (last and single returns).
    Last,
    /// `number_of_returns == 1`.
    Single,
}

impl std::str::FromStr for ReturnFilter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "all" => Ok(ReturnFilter::All),
            "first" => Ok(ReturnFilter::First),
            "last" => Ok(ReturnFilter::Last),
            "single" => Ok(ReturnFilter::Single),
            o => Err(format!(
                "unknown return filter '{o}' (all, first, last, single)"
            )),
        }
    }
}

/// Options of the metric set (defaults: lidR `stdmetrics` with `dz = 1`, `th = 2`, `zmin = 0`,
/// plus noise removal).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricOptions {
    /// Height break for `cover`, `mch` and the density deciles (m). Default 2.
    pub height_break_m: f64,
    /// Returns that form the population. Default all.
    pub returns: ReturnFilter,
    /// When set, returns lower than this are left out of the population (m). Default unset.
    pub min_height_m: Option<f64>,
    /// Bin thickness of `zentropy` (m). Default 1 (lidR `dz`).
    pub entropy_bin_m: f64,
    /// Lower bound of the `zpcum` range (m). Default 0 (lidR `zmin`).
    pub zpcum_min_m: f64,
    /// Drop noise (classes 7, 18) and withheld points. Default true.
    pub drop_noise: bool,
}

impl Default for MetricOptions {
    fn default() -> Self {
        MetricOptions {
            height_break_m: 2.0,
            returns: ReturnFilter::All,
            min_height_m: None,
            entropy_bin_m: 1.0,
            zpcum_min_m: 0.0,
            drop_noise: true,
        }
    }
}

impl MetricOptions {
    /// Checks the options are usable.
    pub fn validate(&self) -> crate::Result<()> {
        if !self.height_break_m.is_finite() {
            return Err(crate::Error::Config(format!(
                "metrics height_break_m must be finite, got {}",
                self.height_break_m
            )));
        }
        if !(self.entropy_bin_m > 0.0 && self.entropy_bin_m.is_finite()) {
            return Err(crate::Error::Config(format!(
                "metrics entropy_bin_m must be positive, got {}",
                self.entropy_bin_m
            )));
        }
        if !self.zpcum_min_m.is_finite() {
            return Err(crate::Error::Config(
                "metrics zpcum_min_m must be finite".into(),
            ));
        }
        if let Some(h) = self.min_height_m {
            if !h.is_finite() {
                return Err(crate::Error::Config(
                    "metrics min_height_m must be finite".into(),
                ));
            }
        }
        Ok(())
    }
}

/// Per-point columns the metrics read. `height_m` is required; an empty attribute slice means
/// the attribute is absent (its metrics are NaN; an absent return number counts every return
/// as a single first return).
#[derive(Debug, Clone, Copy, Default)]
pub struct Returns<'a> {
    pub height_m: &'a [f64],
    pub intensity: &'a [u16],
    pub return_number: &'a [u8],
    pub number_of_returns: &'a [u8],
    pub classification: &'a [u8],
    /// LAS flag bits (withheld = 4).
    pub flags: &'a [u8],
}

impl<'a> Returns<'a> {
    /// Heights only.
    pub fn heights(height_m: &'a [f64]) -> Self {
        Returns {
            height_m,
            ..Default::default()
        }
    }

    /// The attribute columns of `cloud` with `height_m` as heights (`cloud.z` for a
    /// height-normalized cloud, or heights computed elsewhere, one per point).
    pub fn from_cloud(cloud: &'a crate::points::PointCloud, height_m: &'a [f64]) -> Self {
        Returns {
            height_m,
            intensity: &cloud.intensity,
            return_number: &cloud.return_number,
            number_of_returns: &cloud.number_of_returns,
            classification: &cloud.classification,
            flags: &cloud.flags,
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.height_m.len()
    }

    /// `true` when there is no point.
    pub fn is_empty(&self) -> bool {
        self.height_m.is_empty()
    }

    fn rn(&self, i: usize) -> u8 {
        if self.return_number.is_empty() {
            1
        } else {
            self.return_number[i]
        }
    }

    fn nr(&self, i: usize) -> u8 {
        if self.number_of_returns.is_empty() {
            1
        } else {
            self.number_of_returns[i]
        }
    }

    fn is_noise(&self, i: usize) -> bool {
        let c = if self.classification.is_empty() {
            1
        } else {
            self.classification[i]
        };
        let withheld = !self.flags.is_empty() && self.flags[i] & crate::points::flag::WITHHELD != 0;
        c == class::NOISE || c == class::HIGH_NOISE || withheld
    }
}

/// R's `seq(from, by, length)` values: `from + k·by` (bit-identical to R).
fn r_seq(from: f64, by: f64, len: usize) -> impl Iterator<Item = f64> + Clone {
    (0..len).map(move |k| from + k as f64 * by)
}

/// R's `quantile(x, p, type = 7)` on a sorted, non-empty slice.
pub fn quantile_type7(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    type7_at(n, p, |i| sorted[i])
}

/// The two ranks (0-based, in ascending order) that `quantile(x, p, type = 7)` of `n > 0`
/// values reads.
fn type7_ranks(n: usize, p: f64) -> (usize, usize) {
    let index = (n - 1) as f64 * p;
    (index.floor() as usize, (index.ceil() as usize).min(n - 1))
}

/// [`quantile_type7`] of `n > 0` values whose `i`-th smallest is `at(i)`.
fn type7_at(n: usize, p: f64, at: impl Fn(usize) -> f64) -> f64 {
    let index = (n - 1) as f64 * p; // 0-based; R's is 1 + this
    let lo = index.floor();
    let (lo_i, hi_i) = type7_ranks(n, p);
    let qs = at(lo_i);
    let xh = at(hi_i);
    if index > lo && xh != qs {
        let h = index - lo;
        (1.0 - h) * qs + h * xh
    } else {
        qs
    }
}

/// Sample mean, sd (n−1), skewness and Pearson kurtosis in lidR's forms.
fn moments(v: &[f64]) -> (f64, f64, f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN, f64::NAN);
    }
    let mean = v.iter().sum::<f64>() / n;
    let (mut s2, mut s3, mut s4) = (0.0, 0.0, 0.0);
    for &x in v {
        let d = x - mean;
        let d2 = d * d;
        s2 += d2;
        s3 += d2 * d;
        s4 += d2 * d2;
    }
    let sd = if v.len() > 1 {
        (s2 / (n - 1.0)).sqrt()
    } else {
        f64::NAN
    };
    let skew = (s3 / n) / (s2 / n).powf(1.5);
    let kurt = n * s4 / (s2 * s2);
    (mean, sd, skew, kurt)
}

/// lidR's `entropy(z, by)` (see the module table).
pub fn entropy(z: &[f64], zmax: f64, by: f64, bins: &mut Vec<u32>) -> f64 {
    if z.is_empty() || zmax < 2.0 * by {
        return f64::NAN;
    }
    if z.iter().any(|&v| v < 0.0) {
        return f64::NAN;
    }
    let nb = (zmax / by).ceil() as usize;
    bins.clear();
    bins.resize(nb, 0);
    if by == 1.0 && zmax < (1u64 << 52) as f64 {
        // lidR's default bin of 1 m: v / 1 = v, and k = trunc(v) (exact below 2⁵²) satisfies
        // k ≤ v < k + 1, so neither correction below can apply: the same bins, without the
        // division, the products and their branches.
        for &v in z {
            let k = v as i64 as usize;
            if k < nb {
                bins[k] += 1;
            }
        }
    } else {
        bin_heights(z, by, bins);
    }
    let total: u32 = bins.iter().sum();
    if total == 0 || nb < 1 {
        return f64::NAN;
    }
    let t = total as f64;
    let h: f64 = bins
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / t;
            -p * p.ln()
        })
        .sum();
    h / (nb as f64).ln()
}

/// Counts heights `z` (all ≥ 0) into the bins `[k·by, (k+1)·by)` of `bins`, as findInterval
/// on those breaks; heights past the last bin are left out.
fn bin_heights(z: &[f64], by: f64, bins: &mut [u32]) {
    let nb = bins.len();
    for &v in z {
        // v ≥ 0 here, so truncation is floor (and much cheaper than a libm call). Through
        // i64, whose conversions from and to f64 are single instructions (usize's are not):
        // v / by ≤ nb, far below 2⁶³ once `bins` is allocated, so the value is the same.
        let mut k = (v / by) as i64;
        // Match findInterval on the break values k·by exactly.
        if k > 0 && v < k as f64 * by {
            k -= 1;
        } else if v >= (k + 1) as f64 * by {
            k += 1;
        }
        if (k as usize) < nb {
            bins[k as usize] += 1;
        }
    }
}

/// lidR's zpcum1..9 (see the module table) into `out[0..9]`.
fn zpcum(z: &[f64], zmax: f64, zmin: f64, out: &mut [f64]) {
    if zmax <= zmin {
        out[..9].fill(0.0);
        return;
    }
    let by = (zmax - zmin) / 10.0;
    let mut breaks = [0.0; 11];
    for (k, b) in r_seq(zmin, by, 11).enumerate() {
        breaks[k] = b.min(zmax);
    }
    let mut counts = [0u64; 10];
    for &v in z {
        if v <= zmin {
            continue;
        }
        // Largest k with breaks[k] <= v, bins 0..9 are counted (v > zmin: truncation is floor).
        // (Through i64, a cheaper conversion than usize's; the same value after the clamp.)
        let mut k = (((v - zmin) / by) as i64).clamp(0, 10) as usize;
        while k > 0 && v < breaks[k] {
            k -= 1;
        }
        while k < 10 && v >= breaks[k + 1] {
            k += 1;
        }
        if k < 10 {
            counts[k] += 1;
        }
    }
    let total: u64 = counts.iter().sum();
    let mut cum = 0u64;
    for i in 0..9 {
        cum += counts[i];
        out[i] = if total == 0 {
            f64::NAN
        } else {
            cum as f64 / total as f64 * 100.0
        };
    }
}

/// Sorts `z` into `out` through order-preserving integer keys (an integer sort is about twice
/// as fast as a float comparator; the order is `f64::total_cmp`'s).
fn sort_f64(z: &[f64], keys: &mut Vec<u64>, out: &mut Vec<f64>) {
    keys.clear();
    keys.extend(z.iter().map(|&v| order_key(v)));
    keys.sort_unstable();
    out.clear();
    out.extend(keys.iter().map(|&k| from_order_key(k)));
}

/// Order-preserving integer key of a height: keys sort as `f64::total_cmp` orders the values.
fn order_key(v: f64) -> u64 {
    const SIGN: u64 = 1 << 63;
    let b = v.to_bits();
    if b & SIGN != 0 {
        !b
    } else {
        b | SIGN
    }
}

/// The height back from its [`order_key`].
fn from_order_key(k: u64) -> f64 {
    const SIGN: u64 = 1 << 63;
    f64::from_bits(if k & SIGN != 0 { k & !SIGN } else { !k })
}

/// The values at a few ranks of the sorted heights, without sorting them all: the quantiles
/// read about 50 of a cell's thousands of ranks. One pass counts the heights into buckets of
/// a monotone linear map (so that bucket order is value order and each rank's bucket is known
/// from the counts), a second pass gathers the heights of the buckets holding a wanted rank,
/// and only those are sorted, by the same keys as the full sort: the values read are the full
/// sort's, bit for bit.
#[derive(Debug, Clone, Default)]
struct RankSelect {
    /// Wanted ranks, ascending, without duplicates.
    ranks: Vec<usize>,
    /// The value at each of `ranks`.
    vals: Vec<f64>,
    /// Per bucket: first rank (exclusive prefix sum of the counts); one more entry for `n`.
    starts: Vec<u32>,
    /// Per bucket: the next free place in `buf` while gathering, `u32::MAX` if not wanted.
    slot: Vec<u32>,
    buf: Vec<u64>,
}

impl RankSelect {
    /// Fills `vals` for `ranks` from `z` (all finite, at least one), whose least value is
    /// `zmin` and greatest `zmax`.
    fn select(&mut self, z: &[f64], zmin: f64, zmax: f64) {
        self.ranks.sort_unstable();
        self.ranks.dedup();
        let n = z.len();
        // About four heights a bucket; the map only has to be monotone (a sum, a product by a
        // positive factor and a truncation are), not exact.
        let nb = (n / 4).next_power_of_two().clamp(16, 1 << 16);
        let mut scale = nb as f64 / (zmax - zmin);
        if !scale.is_finite() {
            scale = 0.0;
        }
        let top = (nb - 1) as f64;
        let bucket = |v: f64| {
            // Clamped to [0, top] by comparisons that also send NaN to 0 (none is expected),
            // then converted by one instruction (`as usize` takes a dozen).
            let x = (v - zmin) * scale;
            let x = if x > 0.0 { x } else { 0.0 };
            let x = if x < top { x } else { top };
            // SAFETY: 0 ≤ x ≤ top = nb − 1 < 2¹⁶, so x truncates to a u32 without overflow.
            unsafe { x.to_int_unchecked::<u32>() as usize }
        };
        let starts = &mut self.starts;
        starts.clear();
        starts.resize(nb + 1, 0);
        for &v in z {
            starts[bucket(v) + 1] += 1;
        }
        for b in 0..nb {
            starts[b + 1] += starts[b];
        }
        // Places in `buf` for the wanted buckets.
        let slot = &mut self.slot;
        slot.clear();
        slot.resize(nb, u32::MAX);
        let mut total = 0u32;
        let mut b = 0;
        for &r in &self.ranks {
            while starts[b + 1] as usize <= r {
                b += 1;
            }
            if slot[b] == u32::MAX {
                slot[b] = total;
                total += starts[b + 1] - starts[b];
            }
        }
        self.buf.clear();
        self.buf.resize(total as usize, 0);
        for &v in z {
            let b = bucket(v);
            let s = slot[b];
            if s != u32::MAX {
                self.buf[s as usize] = order_key(v);
                slot[b] = s + 1;
            }
        }
        // After the gathering, a wanted bucket's place ends at `slot[b]`.
        self.vals.clear();
        let (mut b, mut sorted_b) = (0, usize::MAX);
        for &r in &self.ranks {
            while starts[b + 1] as usize <= r {
                b += 1;
            }
            let len = (starts[b + 1] - starts[b]) as usize;
            let first = slot[b] as usize - len;
            let run = &mut self.buf[first..first + len];
            if sorted_b != b {
                run.sort_unstable();
                sorted_b = b;
            }
            self.vals.push(from_order_key(run[r - starts[b] as usize]));
        }
    }

    /// The value at rank `r`, one of the selected ranks.
    fn at(&self, r: usize) -> f64 {
        self.vals[self.ranks.binary_search(&r).expect("a selected rank")]
    }
}

/// Computes the metric set, reusing its buffers between calls (one per thread).
#[derive(Debug, Clone, Default)]
pub struct MetricComputer {
    opts: MetricOptions,
    z: Vec<f64>,
    sorted: Vec<f64>,
    inten: Vec<f64>,
    rn: Vec<u8>,
    cls: Vec<u8>,
    bins: Vec<u32>,
    keys: Vec<u64>,
    select: RankSelect,
}

impl MetricComputer {
    /// A computer for `opts`.
    pub fn new(opts: &MetricOptions) -> Self {
        MetricComputer {
            opts: opts.clone(),
            ..Default::default()
        }
    }

    /// The options.
    pub fn options(&self) -> &MetricOptions {
        &self.opts
    }

    /// Metrics of the returns `idx` of `r`, written into `out` (length [`N_METRICS`]).
    pub fn compute_into(
        &mut self,
        r: &Returns,
        idx: impl IntoIterator<Item = usize>,
        out: &mut [f64],
    ) {
        assert_eq!(out.len(), N_METRICS, "metric vector length");
        out.fill(f64::NAN);
        let o = &self.opts;
        let hb = o.height_break_m;
        let has_i = !r.intensity.is_empty();
        let has_cls = !r.classification.is_empty();
        let has_rn = !r.return_number.is_empty();
        self.z.clear();
        self.inten.clear();
        self.rn.clear();
        self.cls.clear();
        // Pass 1: gather the population; cover and mch from all first returns. Into local
        // vectors (put back after), which the loop keeps in registers: pushing to `self`'s,
        // it stored each length back to memory, `out` possibly aliasing them.
        let idx = idx.into_iter();
        let cap = idx.size_hint().0;
        let mut zs = std::mem::take(&mut self.z);
        let mut ivs = std::mem::take(&mut self.inten);
        let mut rns = std::mem::take(&mut self.rn);
        let mut cls = std::mem::take(&mut self.cls);
        zs.reserve(cap);
        if has_i {
            ivs.reserve(cap);
        }
        if has_rn {
            rns.reserve(cap);
        }
        if has_cls {
            cls.reserve(cap);
        }
        let (mut n_first, mut n_first_above, mut sum_first_above) = (0u64, 0u64, 0.0);
        let plain = o.returns == ReturnFilter::All
            && o.min_height_m.is_none()
            && has_i
            && has_rn
            && has_cls
            && !r.flags.is_empty();
        if plain {
            // Every attribute present and every return but noise kept (the defaults): the
            // columns written at the next free place of vectors sized in advance, where a
            // push checks the capacity and stores the length, for each column and point.
            let (hs, is, rs, cs, fs) = (
                r.height_m,
                r.intensity,
                r.return_number,
                r.classification,
                r.flags,
            );
            let mut j = 0;
            for i in idx {
                let c = cs[i];
                let withheld = fs[i] & crate::points::flag::WITHHELD != 0;
                if o.drop_noise && (c == class::NOISE || c == class::HIGH_NOISE || withheld) {
                    continue;
                }
                let z = hs[i];
                let rn = rs[i];
                if rn == 1 {
                    n_first += 1;
                    if z > hb {
                        n_first_above += 1;
                        sum_first_above += z;
                    }
                }
                if j == zs.len() {
                    let m = (2 * j).max(cap).max(64);
                    zs.resize(m, 0.0);
                    ivs.resize(m, 0.0);
                    rns.resize(m, 0);
                    cls.resize(m, 0);
                }
                zs[j] = z;
                ivs[j] = is[i] as f64;
                rns[j] = rn;
                cls[j] = c;
                j += 1;
            }
            zs.truncate(j);
            ivs.truncate(j);
            rns.truncate(j);
            cls.truncate(j);
        } else {
            for i in idx {
                if o.drop_noise && r.is_noise(i) {
                    continue;
                }
                let z = r.height_m[i];
                let rn = r.rn(i);
                if rn == 1 {
                    n_first += 1;
                    if z > hb {
                        n_first_above += 1;
                        sum_first_above += z;
                    }
                }
                let keep = match o.returns {
                    ReturnFilter::All => true,
                    ReturnFilter::First => rn == 1,
                    ReturnFilter::Last => rn == r.nr(i),
                    ReturnFilter::Single => r.nr(i) == 1,
                };
                if !keep || o.min_height_m.is_some_and(|h| z < h) {
                    continue;
                }
                zs.push(z);
                if has_i {
                    ivs.push(r.intensity[i] as f64);
                }
                if has_rn {
                    rns.push(rn);
                }
                if has_cls {
                    cls.push(r.classification[i]);
                }
            }
        }
        (self.z, self.inten, self.rn, self.cls) = (zs, ivs, rns, cls);
        if n_first > 0 {
            out[I_COVER] = n_first_above as f64 / n_first as f64 * 100.0;
        }
        if n_first_above > 0 {
            out[I_MCH] = sum_first_above / n_first_above as f64;
        }
        let n = self.z.len();
        out[I_N] = n as f64;
        if n == 0 {
            return;
        }
        let nf = n as f64;
        let z = &self.z;
        // Heights: moments, shares, entropy, zpcum.
        let (zmean, zsd, zskew, zkurt) = moments(z);
        let zmax = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        out[I_ZMAX] = zmax;
        out[I_ZMEAN] = zmean;
        out[I_ZSD] = zsd;
        out[I_ZCV] = zsd / zmean * 100.0;
        out[I_ZSKEW] = zskew;
        out[I_ZKURT] = zkurt;
        out[I_ZENTROPY] = entropy(z, zmax, o.entropy_bin_m, &mut self.bins);
        let above_mean = z.iter().filter(|&&v| v > zmean).count();
        let above2 = z.iter().filter(|&&v| v > 2.0).count();
        out[I_PZABOVEZMEAN] = above_mean as f64 / nf * 100.0;
        out[I_PZABOVE2] = above2 as f64 / nf * 100.0;
        zpcum(z, zmax, o.zpcum_min_m, &mut out[I_ZPCUM..I_ZPCUM + 9]);
        // Quantiles and density deciles read the heights in sorted order: at a few ranks
        // ([`RankSelect`]) when the heights are all finite and many, else from a full sort.
        let zq_p = r_seq(0.05, 0.05, 19);
        let ipcum_p = r_seq(0.1, 0.2, 5);
        // A finite mean: no NaN or infinity among the heights.
        let zmin = z.iter().copied().fold(f64::INFINITY, f64::min);
        let fast = n >= 64 && zmean.is_finite() && (zmax - zmin).is_finite();
        let s = if fast {
            let first_above = z.iter().filter(|&&v| v <= hb).count();
            let sel = &mut self.select;
            sel.ranks.clear();
            for p in zq_p.clone().chain(ipcum_p.clone()) {
                let (a, b) = type7_ranks(n, p);
                sel.ranks.extend([a, b]);
            }
            if first_above < n {
                let (a, b) = type7_ranks(n - first_above, 0.95);
                sel.ranks.extend([first_above + a, first_above + b]);
            }
            sel.select(z, zmin, zmax);
            let sel = &self.select;
            for (k, p) in zq_p.enumerate() {
                out[I_ZQ + k] = type7_at(n, p, |r| sel.at(r));
            }
            if first_above == n {
                out[I_D..I_D + 10].fill(0.0);
            } else {
                let q95 = type7_at(n - first_above, 0.95, |r| sel.at(first_above + r));
                let step = (q95 - hb) / 10.0;
                let t: [f64; 10] = std::array::from_fn(|k| hb + k as f64 * step);
                for k in 0..10 {
                    // Heights at or under the threshold (the sorted heights' partition point).
                    let under = z.iter().filter(|&&v| v <= t[k]).count();
                    out[I_D + k] = (n - under) as f64 / nf * 100.0;
                }
            }
            None
        } else {
            sort_f64(z, &mut self.keys, &mut self.sorted);
            let s = &self.sorted;
            for (k, p) in zq_p.enumerate() {
                out[I_ZQ + k] = quantile_type7(s, p);
            }
            // Density deciles above the height break.
            let first_above = s.partition_point(|&v| v <= hb);
            if first_above == n {
                out[I_D..I_D + 10].fill(0.0);
            } else {
                let q95 = quantile_type7(&s[first_above..], 0.95);
                let step = (q95 - hb) / 10.0;
                for k in 0..10 {
                    let t = hb + k as f64 * step;
                    let above = n - s.partition_point(|&v| v <= t);
                    out[I_D + k] = above as f64 / nf * 100.0;
                }
            }
            Some(s)
        };
        // Intensity.
        if has_i {
            let iv = &self.inten;
            let (imean, isd, iskew, ikurt) = moments(iv);
            let itot: f64 = iv.iter().sum();
            out[I_ITOT] = itot;
            out[I_IMAX] = iv.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            out[I_IMEAN] = imean;
            out[I_ISD] = isd;
            out[I_ISKEW] = iskew;
            out[I_IKURT] = ikurt;
            if itot > 0.0 {
                if has_cls {
                    let ig: f64 = iv
                        .iter()
                        .zip(&self.cls)
                        .filter(|(_, &c)| c == class::GROUND)
                        .map(|(i, _)| *i)
                        .sum();
                    out[I_IPGROUND] = ig / itot * 100.0;
                }
                let mut zq = [0.0; 5];
                for (k, p) in ipcum_p.enumerate() {
                    zq[k] = match s {
                        Some(s) => quantile_type7(s, p),
                        None => type7_at(n, p, |r| self.select.at(r)),
                    };
                }
                let mut acc = [0.0; 5];
                for (&zv, &i) in z.iter().zip(iv) {
                    for k in 0..5 {
                        // Adding 0 leaves a sum of intensities (≥ 0, never −0) unchanged: no
                        // branch.
                        acc[k] += if zv <= zq[k] { i } else { 0.0 };
                    }
                }
                for k in 0..5 {
                    out[I_IPCUM + k] = acc[k] / itot * 100.0;
                }
            }
        }
        // Return numbers and ground share.
        let mut rn_counts = [0u64; 5];
        if has_rn {
            for &v in &self.rn {
                if (1..=5).contains(&v) {
                    rn_counts[v as usize - 1] += 1;
                }
            }
        } else {
            rn_counts[0] = n as u64;
        }
        for k in 0..5 {
            out[I_P1TH + k] = rn_counts[k] as f64 / nf * 100.0;
        }
        if has_cls {
            let g = self.cls.iter().filter(|&&c| c == class::GROUND).count();
            out[I_PGROUND] = g as f64 / nf * 100.0;
        }
    }

    /// Metrics of the returns `idx` of `r`.
    pub fn compute(&mut self, r: &Returns, idx: impl IntoIterator<Item = usize>) -> Vec<f64> {
        let mut out = vec![f64::NAN; N_METRICS];
        self.compute_into(r, idx, &mut out);
        out
    }
}

/// Metrics of all of `r`'s returns with `opts` (convenience for one plot or one sample).
pub fn metrics(r: &Returns, opts: &MetricOptions) -> Vec<f64> {
    MetricComputer::new(opts).compute(r, 0..r.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(v: &[f64], name: &str) -> f64 {
        v[metric_index(name).unwrap()]
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn names_and_offsets_agree() {
        assert_eq!(METRIC_NAMES[I_ZQ], "zq5");
        assert_eq!(METRIC_NAMES[I_ZQ + 18], "zq95");
        assert_eq!(METRIC_NAMES[I_ZPCUM + 8], "zpcum9");
        assert_eq!(METRIC_NAMES[I_D + 9], "d9");
        assert_eq!(METRIC_NAMES[I_IPCUM + 4], "ipcumzq90");
        assert_eq!(METRIC_NAMES[I_P1TH + 4], "p5th");
        assert_eq!(METRIC_NAMES[I_PGROUND], "pground");
        assert_eq!(METRIC_NAMES[I_COVER], "cover");
        let mut sorted = METRIC_NAMES.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), N_METRICS, "names are unique");
    }

    #[test]
    fn integer_key_sort_orders_floats() {
        let z = [3.5, -0.25, 0.0, -0.0, 12.0, -7.0, 1e-300, 2.0];
        let (mut k, mut out) = (Vec::new(), Vec::new());
        sort_f64(&z, &mut k, &mut out);
        let mut want = z.to_vec();
        want.sort_by(f64::total_cmp);
        assert_eq!(
            out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn rank_selection_reads_the_sorted_values() {
        // Ties, both zeros, a wide range and one all-equal set: every rank's value is the full
        // sort's, bit for bit.
        let mut state = 12345u64;
        let mut rnd = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let sets: Vec<Vec<f64>> = vec![
            (0..5000).map(|_| (rnd() * 30.0 - 0.5).max(0.0)).collect(),
            (0..300)
                .map(|i| match i % 4 {
                    0 => 0.0,
                    1 => -0.0,
                    2 => (rnd() * 4.0).round(),
                    _ => rnd() * 1e-300,
                })
                .collect(),
            (0..100).map(|_| 7.25).collect(),
            (0..1000).map(|_| rnd() * 1e300 - 5e299).collect(),
        ];
        for z in sets {
            let (mut keys, mut sorted) = (Vec::new(), Vec::new());
            sort_f64(&z, &mut keys, &mut sorted);
            let mut sel = RankSelect {
                ranks: (0..z.len())
                    .rev()
                    .step_by(7)
                    .chain([0, 1, z.len() - 1])
                    .collect(),
                ..Default::default()
            };
            let zmin = z.iter().copied().fold(f64::INFINITY, f64::min);
            let zmax = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            sel.select(&z, zmin, zmax);
            for &r in &sel.ranks {
                assert_eq!(sel.at(r).to_bits(), sorted[r].to_bits(), "rank {r}");
            }
        }
    }

    #[test]
    fn selected_quantiles_and_deciles_equal_the_sorted_ones() {
        // Enough returns for the rank selection; ground returns at exactly 0 m, as a TIN's.
        let z: Vec<f64> = (0..500)
            .map(|i| {
                if i % 3 == 0 {
                    0.0
                } else {
                    ((i * 7919) % 2503) as f64 / 97.0
                }
            })
            .collect();
        let m = metrics(&Returns::heights(&z), &MetricOptions::default());
        let mut s = z.clone();
        s.sort_by(f64::total_cmp);
        for (k, p) in r_seq(0.05, 0.05, 19).enumerate() {
            assert_eq!(m[I_ZQ + k].to_bits(), quantile_type7(&s, p).to_bits());
        }
        let first_above = s.partition_point(|&v| v <= 2.0);
        let q95 = quantile_type7(&s[first_above..], 0.95);
        for k in 0..10 {
            let t = 2.0 + k as f64 * ((q95 - 2.0) / 10.0);
            let above = s.len() - s.partition_point(|&v| v <= t);
            assert_eq!(m[I_D + k], above as f64 / s.len() as f64 * 100.0);
        }
    }

    #[test]
    fn gathering_with_all_attributes_equals_the_general_one() {
        // Flags present (every attribute: the direct gathering) or absent (the general one).
        let n = 300;
        let z: Vec<f64> = (0..n).map(|i| ((i * 37) % 101) as f64 * 0.3).collect();
        let inten: Vec<u16> = (0..n).map(|i| (i * 13 % 700) as u16).collect();
        let rn: Vec<u8> = (0..n).map(|i| (i % 3 + 1) as u8).collect();
        let nr = vec![3u8; n];
        let cls: Vec<u8> = (0..n).map(|i| [1u8, 2, 5, 7][i % 4]).collect();
        let flags = vec![0u8; n];
        let with = Returns {
            height_m: &z,
            intensity: &inten,
            return_number: &rn,
            number_of_returns: &nr,
            classification: &cls,
            flags: &flags,
        };
        let without = Returns { flags: &[], ..with };
        let o = MetricOptions::default();
        let bits = |v: Vec<f64>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(metrics(&with, &o)), bits(metrics(&without, &o)));
        let idx: Vec<usize> = (0..n).step_by(3).collect();
        let mut mc = MetricComputer::new(&o);
        let a = mc.compute(&with, idx.iter().copied());
        let b = mc.compute(&without, idx.iter().copied());
        assert_eq!(bits(a), bits(b));
    }

    #[test]
    fn quantile_type7_matches_r() {
        // R: quantile(c(1, 2, 4, 8, 16), c(0.05, 0.5, 0.9)) = 1.2, 4.0, 12.8
        let s = [1.0, 2.0, 4.0, 8.0, 16.0];
        assert!(close(quantile_type7(&s, 0.05), 1.2, 1e-12));
        assert!(close(quantile_type7(&s, 0.5), 4.0, 1e-12));
        assert!(close(quantile_type7(&s, 0.9), 12.8, 1e-12));
        assert_eq!(quantile_type7(&[3.0], 0.3), 3.0);
    }

    /// Heights 0, 1, ..., 10 (11 returns), worked by hand.
    #[test]
    fn height_metrics_by_hand() {
        let z: Vec<f64> = (0..=10).map(|v| v as f64).collect();
        let m = metrics(&Returns::heights(&z), &MetricOptions::default());
        assert_eq!(get(&m, "n"), 11.0);
        assert_eq!(get(&m, "zmax"), 10.0);
        assert!(close(get(&m, "zmean"), 5.0, 1e-12));
        // Σ(z−5)² = 110, sd = sqrt(110/10) = 3.3166247903554
        assert!(close(get(&m, "zsd"), 110f64.sqrt() / 10f64.sqrt(), 1e-12));
        assert!(close(get(&m, "zcv"), 3.3166247903554 / 5.0 * 100.0, 1e-9));
        assert!(close(get(&m, "zskew"), 0.0, 1e-12));
        // Σ(z−5)⁴ = 2·(1+16+81+256+625) = 1958; kurt = 11·1958/110² = 1.78
        assert!(close(get(&m, "zkurt"), 11.0 * 1958.0 / 12100.0, 1e-12));
        // > 5: 6..10 = 5 of 11; > 2: 3..10 = 8 of 11.
        assert!(close(get(&m, "pzabovezmean"), 500.0 / 11.0, 1e-12));
        assert!(close(get(&m, "pzabove2"), 800.0 / 11.0, 1e-12));
        // Type 7 on 0..10: q(p) = 10p.
        assert!(close(get(&m, "zq5"), 0.5, 1e-12));
        assert!(close(get(&m, "zq50"), 5.0, 1e-12));
        assert!(close(get(&m, "zq95"), 9.5, 1e-12));
        // Entropy: 10 bins [0,1),...,[9,10); z = 10 falls out (top break). Ten bins with one
        // return each: entropy = ln 10 / ln 10 = 1.
        assert!(close(get(&m, "zentropy"), 1.0, 1e-12));
        // zpcum: z > 0 → 1..10; breaks 0,1,..,10; z = 10 not counted; 9 returns in bins
        // [1,2),...,[9,10): bin 1 [0,1) empty. zpcum_i = (i−1)/9·100.
        for i in 1..=9 {
            let v = get(&m, &format!("zpcum{i}"));
            assert!(close(v, (i - 1) as f64 / 9.0 * 100.0, 1e-9), "zpcum{i} {v}");
        }
        // Cover: every return is a first return (no return numbers); 8 of 11 above 2 m.
        assert!(close(get(&m, "cover"), 800.0 / 11.0, 1e-12));
        // mch = mean(3..10) = 6.5
        assert!(close(get(&m, "mch"), 6.5, 1e-12));
        // Deciles: above 2 m: 3..10, q95 (type 7, 8 values) = 9 + 0.65 = 9.65;
        // t_k = 2 + k·0.765; d0: > 2 → 8/11; d9: t = 8.885 → 9,10 → 2/11.
        assert!(close(get(&m, "d0"), 800.0 / 11.0, 1e-12));
        assert!(close(get(&m, "d9"), 200.0 / 11.0, 1e-12));
        // t_4 = 5.06 → 6..10 → 5/11
        assert!(close(get(&m, "d4"), 500.0 / 11.0, 1e-12));
        // No intensity or classification: NaN; all returns count as first.
        assert!(get(&m, "itot").is_nan());
        assert!(get(&m, "pground").is_nan());
        assert_eq!(get(&m, "p1th"), 100.0);
    }

    #[test]
    fn intensity_and_return_metrics_by_hand() {
        let z = [0.0, 1.0, 5.0, 10.0];
        let i = [100u16, 50, 30, 20];
        let rn = [2u8, 1, 2, 1];
        let nr = [2u8, 2, 2, 2];
        let cls = [2u8, 1, 5, 5];
        let r = Returns {
            height_m: &z,
            intensity: &i,
            return_number: &rn,
            number_of_returns: &nr,
            classification: &cls,
            flags: &[],
        };
        let m = metrics(&r, &MetricOptions::default());
        assert_eq!(get(&m, "itot"), 200.0);
        assert_eq!(get(&m, "imax"), 100.0);
        assert_eq!(get(&m, "imean"), 50.0);
        // deviations 50, 0, −20, −30: Σd² = 3800, sd = sqrt(3800/3)
        assert!(close(get(&m, "isd"), (3800.0f64 / 3.0).sqrt(), 1e-12));
        // Σd³ = 125000 − 8000 − 27000 = 90000; skew = (90000/4)/(950)^1.5
        assert!(close(get(&m, "iskew"), 22500.0 / 950f64.powf(1.5), 1e-12));
        // Σd⁴ = 6250000 + 160000 + 810000 = 7220000; kurt = 4·7220000/3800²
        assert!(close(
            get(&m, "ikurt"),
            4.0 * 7_220_000.0 / 14_440_000.0,
            1e-12
        ));
        assert!(close(get(&m, "ipground"), 50.0, 1e-12));
        // zq10 = 0.3 → z ≤ 0.3: intensity 100 → 50 %; zq90 = 8.5 → 180/200 = 90 %.
        assert!(close(get(&m, "ipcumzq10"), 50.0, 1e-12));
        assert!(close(get(&m, "ipcumzq90"), 90.0, 1e-12));
        // zq50 = 3 → 150/200
        assert!(close(get(&m, "ipcumzq50"), 75.0, 1e-12));
        assert_eq!(get(&m, "p1th"), 50.0);
        assert_eq!(get(&m, "p2th"), 50.0);
        assert_eq!(get(&m, "p3th"), 0.0);
        assert_eq!(get(&m, "pground"), 25.0);
        // Cover: first returns are z = 1 and z = 10 → 1 of 2 above 2 m.
        assert_eq!(get(&m, "cover"), 50.0);
        assert_eq!(get(&m, "mch"), 10.0);
        // Entropy: zmax 10 → 10 bins; counts in bins 0, 1, 5 (z = 10 drops) → 3 equal → ln3/ln10
        assert!(close(get(&m, "zentropy"), 3f64.ln() / 10f64.ln(), 1e-12));
    }

    #[test]
    fn filters_and_undefined_values() {
        let z = [-0.5, 3.0, 4.0, 20.0, 1.0];
        let rn = [1u8, 1, 2, 1, 1];
        let nr = [1u8, 2, 2, 1, 1];
        let cls = [2u8, 5, 5, 7, 2];
        let r = Returns {
            height_m: &z,
            return_number: &rn,
            number_of_returns: &nr,
            classification: &cls,
            ..Default::default()
        };
        // Noise (the 20 m return) is dropped; a negative height makes entropy undefined.
        let m = metrics(&r, &MetricOptions::default());
        assert_eq!(get(&m, "n"), 4.0);
        assert_eq!(get(&m, "zmax"), 4.0);
        assert!(get(&m, "zentropy").is_nan());
        // First-return filter: −0.5, 3.0, 1.0
        let o = MetricOptions {
            returns: ReturnFilter::First,
            ..Default::default()
        };
        let m = metrics(&r, &o);
        assert_eq!(get(&m, "n"), 3.0);
        // Minimum height 2 m (lidaRtRee's hmin): 3.0, 4.0
        let o = MetricOptions {
            min_height_m: Some(2.0),
            ..Default::default()
        };
        let m = metrics(&r, &o);
        assert_eq!(get(&m, "n"), 2.0);
        assert_eq!(get(&m, "zmean"), 3.5);
        // Cover ignores the population filters: first returns −0.5, 3.0, 1.0 → 1 of 3.
        assert!(close(get(&m, "cover"), 100.0 / 3.0, 1e-12));
        // Keeping noise brings the 20 m return back.
        let o = MetricOptions {
            drop_noise: false,
            ..Default::default()
        };
        assert_eq!(get(&metrics(&r, &o), "zmax"), 20.0);
        // One return: sd undefined; no return: everything undefined but n = 0.
        let one = metrics(&Returns::heights(&[5.0]), &MetricOptions::default());
        assert!(get(&one, "zsd").is_nan());
        assert_eq!(get(&one, "zq50"), 5.0);
        let none = metrics(&Returns::heights(&[]), &MetricOptions::default());
        assert_eq!(get(&none, "n"), 0.0);
        assert!(get(&none, "zmean").is_nan());
        assert!(get(&none, "cover").is_nan());
    }

    #[test]
    fn ground_only_cell() {
        // All returns at 0 m: zpcum all 0 (zmax <= zmin), deciles 0, cover 0, entropy NaN.
        let z = [0.0; 6];
        let m = metrics(&Returns::heights(&z), &MetricOptions::default());
        assert_eq!(get(&m, "zpcum5"), 0.0);
        assert_eq!(get(&m, "d0"), 0.0);
        assert_eq!(get(&m, "cover"), 0.0);
        assert!(get(&m, "mch").is_nan());
        assert!(get(&m, "zentropy").is_nan());
    }
}
