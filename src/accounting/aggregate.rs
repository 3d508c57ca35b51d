//! Aggregation unit → county → region and the class-transition matrix
//! (carbon-accounting.md §4.4, §7 tables F-2 and F-3).
//!
//! Stocks, areas and sinks are **summed**; densities at higher levels are area-weighted,
//! Σ S / Σ A, never simple means of unit densities. The region is the sum over counties.
//! Uncertainties are not aggregated here: they are combined per shared error source by
//! `uncertainty.rs` (approach 1) and `montecarlo.rs` (approach 2).
//!
//! See also: `stock.rs`, `sink.rs`, `tables.rs`.

use super::sink::Sink;
use super::stock::density_of;
use super::{LandClass, Pools, UnitResult};
use std::collections::BTreeMap;

/// Index of a class in [`LandClass::ALL`].
pub fn class_ix(c: LandClass) -> usize {
    LandClass::ALL.iter().position(|x| *x == c).unwrap_or(0)
}

/// Sums of one county (or of the region).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AggRow {
    pub county_code: String,
    pub county_name: String,
    pub n_units: usize,
    pub area_ha: f64,
    /// Area per class ([`LandClass::ALL`] order) at t₁ and t₂ (ha).
    pub area_by_class: [[f64; 6]; 2],
    /// Area of units whose class code changed (ha).
    pub changed_area_ha: f64,
    /// Stock per pool at t₁ and t₂ (t C).
    pub stock: [Pools; 2],
    pub sink: Sink,
}

impl AggRow {
    /// Adds one unit.
    pub fn add(&mut self, u: &UnitResult) {
        self.n_units += 1;
        self.area_ha += u.area_ha;
        for y in 0..2 {
            self.area_by_class[y][class_ix(u.class[y])] += u.area_ha;
            for k in 0..5 {
                self.stock[y][k] += u.stock[y][k];
            }
        }
        if u.change_flag == 1 {
            self.changed_area_ha += u.area_ha;
        }
        for k in 0..5 {
            self.sink.dc_tc[k] += u.sink.dc_tc[k];
            self.sink.tc_yr[k] += u.sink.tc_yr[k];
        }
    }

    /// Adds another row's sums (county → region).
    pub fn merge(&mut self, o: &AggRow) {
        self.n_units += o.n_units;
        self.area_ha += o.area_ha;
        self.changed_area_ha += o.changed_area_ha;
        for y in 0..2 {
            for k in 0..6 {
                self.area_by_class[y][k] += o.area_by_class[y][k];
            }
            for k in 0..5 {
                self.stock[y][k] += o.stock[y][k];
            }
        }
        for k in 0..5 {
            self.sink.dc_tc[k] += o.sink.dc_tc[k];
            self.sink.tc_yr[k] += o.sink.tc_yr[k];
        }
    }

    /// Total stock in year `y` (0 = t₁) in t C.
    pub fn stock_total(&self, y: usize) -> f64 {
        self.stock[y].iter().sum()
    }

    /// Area-weighted total density in year `y` (t C/ha).
    pub fn density(&self, y: usize) -> f64 {
        density_of(self.stock_total(y), self.area_ha)
    }

    /// Area-weighted density of one pool in year `y` (t C/ha).
    pub fn pool_density(&self, y: usize, k: usize) -> f64 {
        density_of(self.stock[y][k], self.area_ha)
    }
}

/// County rows sorted by county code.
pub fn by_county(units: &[UnitResult]) -> Vec<AggRow> {
    let mut m: BTreeMap<&str, AggRow> = BTreeMap::new();
    for u in units {
        let r = m.entry(u.county.as_str()).or_insert_with(|| AggRow {
            county_code: u.county.clone(),
            county_name: u.county_name.clone(),
            ..Default::default()
        });
        if r.county_name.is_empty() {
            r.county_name = u.county_name.clone();
        }
        r.add(u);
    }
    m.into_values().collect()
}

/// The region: the sum of the county rows.
pub fn region(rows: &[AggRow]) -> AggRow {
    let mut r = AggRow {
        county_code: "region".into(),
        county_name: "all counties".into(),
        ..Default::default()
    };
    for c in rows {
        r.merge(c);
    }
    r
}

/// One cell of the class-transition matrix.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transition {
    pub n_units: usize,
    pub area_ha: f64,
    pub sink_tc_yr: f64,
    /// 95 % half-width of the cell's sink (t C/yr, approach 1 over the cell's units with
    /// every shared error source correlated), when computed ([`with_uncertainty`]).
    pub h_sink_tc_yr: Option<f64>,
}

impl Transition {
    /// The cell's sink uncertainty in % of |sink|.
    pub fn u_sink_pct(&self) -> Option<f64> {
        super::uncertainty::u_pct(self.h_sink_tc_yr?, self.sink_tc_yr)
    }
}

/// Transition matrices keyed by `key(unit)` (e.g. county and classes) with each cell's
/// approach-1 sink half-width: the ledger's stock terms regrouped by the cell of their unit.
/// `unit_of_term[i]` is the index in `units` of `ledger.terms[i]`.
pub fn with_uncertainty<K: Ord + Clone>(
    units: &[UnitResult],
    reg: &super::uncertainty::Registry,
    ledger: &super::uncertainty::Ledger,
    unit_of_term: &[usize],
    key: impl Fn(&UnitResult) -> K,
) -> BTreeMap<K, Transition> {
    let mut m = accumulate(units, &key);
    let ix: BTreeMap<K, u32> = m.keys().cloned().zip(0u32..).collect();
    let regrouped = super::uncertainty::Ledger {
        groups: (0..ix.len()).map(|i| i.to_string()).collect(),
        terms: ledger
            .terms
            .iter()
            .zip(unit_of_term)
            .map(|(t, &u)| super::uncertainty::LedgerTerm {
                group: ix[&key(&units[u])],
                ..t.clone()
            })
            .collect(),
        dt_years: ledger.dt_years,
    };
    let a1 = super::uncertainty::approach1(reg, &regrouped);
    for (k, t) in m.iter_mut() {
        t.h_sink_tc_yr = Some(a1[ix[k] as usize].h_sink_tc_yr);
    }
    m
}

/// Transition matrix (class t₁, class t₂) → area and sink, over `units` (filter by county
/// beforehand for a county matrix).
pub fn transitions<'a>(
    units: impl IntoIterator<Item = &'a UnitResult>,
) -> BTreeMap<(LandClass, LandClass), Transition> {
    accumulate(units, |u| (u.class[0], u.class[1]))
}

/// Units, areas and sinks summed by `key(unit)`.
fn accumulate<'a, K: Ord>(
    units: impl IntoIterator<Item = &'a UnitResult>,
    key: impl Fn(&UnitResult) -> K,
) -> BTreeMap<K, Transition> {
    let mut m: BTreeMap<K, Transition> = BTreeMap::new();
    for u in units {
        let t = m.entry(key(u)).or_default();
        t.n_units += 1;
        t.area_ha += u.area_ha;
        t.sink_tc_yr += u.sink.tc_yr_total();
    }
    m
}

#[cfg(test)]
mod tests {
    use super::super::density::YearDensity;
    use super::super::{Method, CO2_PER_C};
    use super::*;

    fn unit(
        id: &str,
        c1: LandClass,
        c2: LandClass,
        code: [&str; 2],
        a: f64,
        d1: f64,
        d2: f64,
    ) -> UnitResult {
        UnitResult::new(
            id,
            "420999",
            "",
            [code[0].to_string(), code[1].to_string()],
            a,
            [
                YearDensity::given(c1, [d1, 0.0, 0.0, 0.0, 0.0], Method::Plot),
                YearDensity::given(c2, [d2, 0.0, 0.0, 0.0, 0.0], Method::Plot),
            ],
            5.0,
        )
    }

    #[test]
    fn worked_example_4_4() {
        use LandClass::*;
        let units = vec![
            unit("P1", Forest, Forest, ["0301", "0301"], 600.0, 80.0, 86.0),
            unit(
                "P2",
                Cropland,
                Cropland,
                ["0101", "0101"],
                300.0,
                35.0,
                35.5,
            ),
            unit("P3", Cropland, Forest, ["0101", "0301"], 50.0, 35.0, 40.0),
        ];
        assert_eq!(units[0].sink.tc_yr_total(), 720.0);
        assert!((units[1].sink.tc_yr_total() - 30.0).abs() < 1e-9);
        assert!((units[2].sink.co2_yr_total() - 183.33).abs() < 5e-3);
        assert_eq!(units[2].change_flag, 1);
        assert_eq!(units[0].change_flag, 0);
        let c = by_county(&units);
        assert_eq!(c.len(), 1);
        let r = &c[0];
        assert_eq!(r.area_ha, 950.0);
        assert_eq!(r.stock_total(0), 60_250.0);
        assert_eq!(r.stock_total(1), 64_250.0);
        assert!((r.sink.tc_yr_total() - 800.0).abs() < 1e-9);
        assert!((r.sink.co2_yr_total() - 2933.33).abs() < 5e-3);
        assert!((r.sink.co2_yr_total() - 800.0 * CO2_PER_C).abs() < 1e-9);
        assert!((r.density(0) - 63.42).abs() < 5e-3, "{}", r.density(0));
        assert!((r.density(1) - 67.63).abs() < 5e-3, "{}", r.density(1));
        // Not the simple mean of densities (50.0 / 53.83).
        assert!((r.density(0) - (80.0 + 35.0 + 35.0) / 3.0).abs() > 10.0);
        assert_eq!(r.changed_area_ha, 50.0);
        assert_eq!(r.area_by_class[0][class_ix(Cropland)], 350.0);
        assert_eq!(r.area_by_class[1][class_ix(Forest)], 650.0);
        let reg = region(&c);
        assert_eq!(reg.stock, r.stock);
        let t = transitions(&units);
        assert_eq!(t[&(Cropland, Forest)].area_ha, 50.0);
        assert!((t[&(Forest, Forest)].sink_tc_yr - 720.0).abs() < 1e-9);
    }
}
