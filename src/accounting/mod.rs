//! Patch-level carbon accounting (carbon-accounting.md §4–§7): two land-survey years overlaid
//! into accounting units, carbon density per pool and year, stocks, the stock-difference sink,
//! county and regional totals, IPCC approach 1 and 2 uncertainty, tables F-1/F-2/F-3 and a
//! report.
//!
//! One concern per file:
//! * [`geom`]: plain polygon types, planar area, WKB;
//! * [`zonal`]: exact cell–polygon coverage and area-weighted zonal means;
//! * [`overlay`]: intersection of the two years' patches into units, slivers, area balance;
//! * [`plots`], [`soil`]: plot tables (mean, sd, n; paired plots) and SOC layer profiles (§1.3);
//! * [`density`]: density per unit, year and pool from LiDAR rasters, plots, soil or defaults;
//! * [`stock`], [`sink`]: stocks and the annual sink (44/12 exactly);
//! * [`aggregate`]: unit → county → region, area-weighted densities, transition matrix;
//! * [`uncertainty`]: approach 1 (error propagation with shared error sources);
//! * [`montecarlo`]: approach 2;
//! * [`tables`]: F-1, F-2, F-3 as CSV; [`map`]: polygon maps as PNG; [`report`]: the HTML report;
//! * [`inputs`]: loading rasters, tables and model files named by the configuration;
//! * [`pipeline`]: the whole computation on loaded inputs; [`config`]: the `[account]` section;
//! * [`synth_county`]: a seeded synthetic county (patches of both years + density rasters).
//!
//! GDAL (vector reading/writing, GEOS intersection and repair) lives in `crate::vector`; the
//! algorithms here take the [`overlay::PolygonOps`] trait for the one GEOS operation they need.

pub mod aggregate;
pub mod checks;
pub mod config;
pub mod density;
pub mod field_units;
pub mod geom;
pub mod inputs;
pub mod map;
pub mod montecarlo;
pub mod overlay;
pub mod pipeline;
pub mod plots;
pub mod report;
pub mod sink;
pub mod soil;
pub mod stock;
pub mod synth_county;
pub mod tables;
pub mod uncertainty;
pub mod zonal;

pub use crate::params::LandClass;
use crate::params::Params;
use crate::{Error, Result};
use geom::MultiPolygon;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// t CO₂ per t C: the exact molar-mass ratio 44/12 (never 3.67).
pub const CO2_PER_C: f64 = 44.0 / 12.0;

/// The five carbon pools of carbon-accounting.md §1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pool {
    Agb,
    Bgb,
    Dw,
    Lt,
    Soc,
}

impl Pool {
    /// All pools in table order.
    pub const ALL: [Pool; 5] = [Pool::Agb, Pool::Bgb, Pool::Dw, Pool::Lt, Pool::Soc];

    /// Column name as in table F-1 (AGB, BGB, DW, LT, SOC).
    pub fn name(self) -> &'static str {
        match self {
            Pool::Agb => "AGB",
            Pool::Bgb => "BGB",
            Pool::Dw => "DW",
            Pool::Lt => "LT",
            Pool::Soc => "SOC",
        }
    }

    /// Index 0..5.
    pub fn ix(self) -> usize {
        self as usize
    }

    /// Parses a pool name: AGB/agb/agc, BGB/bgb/bgc, DW/dead_wood, LT/litter, SOC.
    pub fn parse(s: &str) -> Option<Pool> {
        match s.trim().to_ascii_lowercase().as_str() {
            "agb" | "agc" => Some(Pool::Agb),
            "bgb" | "bgc" => Some(Pool::Bgb),
            "dw" | "dead_wood" | "deadwood" => Some(Pool::Dw),
            "lt" | "litter" => Some(Pool::Lt),
            "soc" | "soil" => Some(Pool::Soc),
            _ => None,
        }
    }
}

/// Carbon density or stock per pool, indexed by [`Pool::ix`].
pub type Pools = [f64; 5];

/// Sum over pools.
pub fn total(p: &Pools) -> f64 {
    p.iter().sum()
}

/// Estimation method of a unit and year (F-1 `method_t1`/`method_t2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    Plot,
    LidarAba,
    LidarItd,
    VolumeBef,
    Default,
}

impl Method {
    /// The table value.
    pub fn name(self) -> &'static str {
        match self {
            Method::Plot => "plot",
            Method::LidarAba => "lidar_aba",
            Method::LidarItd => "lidar_itd",
            Method::VolumeBef => "volume_bef",
            Method::Default => "default",
        }
    }

    /// Parses a table value.
    pub fn parse(s: &str) -> Option<Method> {
        [
            Method::Plot,
            Method::LidarAba,
            Method::LidarItd,
            Method::VolumeBef,
            Method::Default,
        ]
        .into_iter()
        .find(|m| m.name() == s.trim())
    }
}

/// F-1 record flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags(pub u16);

impl Flags {
    pub const DEFAULT_USED: u16 = 1;
    pub const EXTRAPOLATED: u16 = 2;
    pub const OUT_OF_SCOPE_CLASS: u16 = 4;
    pub const ESM_CORRECTED: u16 = 8;
    pub const SLIVER: u16 = 16;
    /// LiDAR rasters from a model calibrated for another class (e.g. a forest model on garden).
    pub const MODEL_OTHER_CLASS: u16 = 32;
    /// Approach 1 is outside its validity for the unit's sink (CV > 0.3, U > 58.8 %): use the
    /// Monte Carlo interval.
    pub const A1_INVALID: u16 = 64;
    /// At least one pool is not estimated (NE) in a year.
    pub const NOT_ESTIMATED: u16 = 128;

    /// Sets a flag.
    pub fn set(&mut self, f: u16) {
        self.0 |= f;
    }

    /// Tests a flag.
    pub fn has(self, f: u16) -> bool {
        self.0 & f != 0
    }

    /// The flags as F-1 writes them: names joined by ';' (empty when none).
    pub fn names(self) -> String {
        [
            (Self::DEFAULT_USED, "default_used"),
            (Self::EXTRAPOLATED, "extrapolated"),
            (Self::OUT_OF_SCOPE_CLASS, "out_of_scope_class"),
            (Self::ESM_CORRECTED, "esm_corrected"),
            (Self::SLIVER, "sliver"),
            (Self::MODEL_OTHER_CLASS, "model_other_class"),
            (Self::A1_INVALID, "approach1_invalid"),
            (Self::NOT_ESTIMATED, "not_estimated"),
        ]
        .iter()
        .filter(|(f, _)| self.has(*f))
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(";")
    }
}

/// A land-survey patch (图斑) as read from a GeoPackage or Shapefile.
#[derive(Debug, Clone)]
pub struct Patch {
    /// Patch id (e.g. BSM), unique within its year.
    pub id: String,
    /// Land-survey class code (DLBM).
    pub code: String,
    /// Accounting class, set by [`classify`].
    pub class: Option<LandClass>,
    /// County code (6 digits).
    pub county: String,
    /// County name where the data carries one (else empty).
    pub county_name: String,
    /// Stratum (e.g. forest type) used to pick plot and soil rows; empty = class level.
    pub stratum: String,
    /// Ellipsoidal area from the survey's area field (TBMJ), in ha.
    pub area_ha: f64,
    /// Planar area of the geometry (m²).
    pub planar_m2: f64,
    pub geom: MultiPolygon,
    /// Feature id in the source file (for messages).
    pub fid: u64,
}

/// A repaired input polygon (never dropped silently).
#[derive(Debug, Clone)]
pub struct Repair {
    pub year: i32,
    pub patch_id: String,
    pub fid: u64,
    /// "make_valid" (GEOS MakeValid) or "buffer0".
    pub method: String,
    pub area_before_m2: f64,
    pub area_after_m2: f64,
}

/// The patches of one survey year.
#[derive(Debug, Clone)]
pub struct PatchSet {
    pub year: i32,
    pub path: PathBuf,
    pub layer: String,
    /// CRS as WKT (None when the file declares none).
    pub crs_wkt: Option<String>,
    pub patches: Vec<Patch>,
    pub repairs: Vec<Repair>,
}

/// One accounting unit with its densities, stocks, sink and uncertainty (a row of F-1).
#[derive(Debug, Clone)]
pub struct UnitResult {
    /// `"{t1 patch id}|{t2 patch id}"`.
    pub id: String,
    pub county: String,
    pub county_name: String,
    /// Land-survey class codes (DLBM) at t₁ and t₂.
    pub code: [String; 2],
    pub class: [LandClass; 2],
    /// 地类变化标识: 1 when the class codes differ.
    pub change_flag: u8,
    /// Ellipsoidal area (ha).
    pub area_ha: f64,
    /// Planar area (m²).
    pub planar_m2: f64,
    pub geom: MultiPolygon,
    pub density: [density::YearDensity; 2],
    /// Stock per pool (t C) at t₁ and t₂.
    pub stock: [Pools; 2],
    pub sink: sink::Sink,
    /// Approach 1 U% of the total density per year, and of the sink.
    pub u_density_pct: [Option<f64>; 2],
    pub u_sink_pct: Option<f64>,
    pub flags: Flags,
}

impl UnitResult {
    /// Builds a unit from its densities: stocks, sink, change flag and flags (uncertainties
    /// are filled in later by the pipeline).
    pub fn new(
        id: &str,
        county: &str,
        county_name: &str,
        code: [String; 2],
        area_ha: f64,
        density: [density::YearDensity; 2],
        dt_years: f64,
    ) -> UnitResult {
        let stock = [
            stock::stocks(&density[0].pools, area_ha),
            stock::stocks(&density[1].pools, area_ha),
        ];
        let sink = sink::Sink::from_stocks(&stock[0], &stock[1], dt_years);
        let flags = Flags(density[0].flags.0 | density[1].flags.0);
        UnitResult {
            id: id.to_string(),
            county: county.to_string(),
            county_name: county_name.to_string(),
            change_flag: u8::from(code[0].trim() != code[1].trim()),
            code,
            class: [density[0].class, density[1].class],
            area_ha,
            planar_m2: 0.0,
            geom: MultiPolygon::default(),
            density,
            stock,
            sink,
            u_density_pct: [None, None],
            u_sink_pct: None,
            flags,
        }
    }

    /// Total density (t C/ha) in year `y`.
    pub fn density_total(&self, y: usize) -> f64 {
        total(&self.density[y].pools)
    }

    /// Total stock (t C) in year `y`.
    pub fn stock_total(&self, y: usize) -> f64 {
        total(&self.stock[y])
    }
}

/// Maps every patch code of both years to an accounting class. An unmapped code is one error
/// that lists every unmapped code, how many patches carry it, in which file and a few ids.
pub fn classify(sets: &mut [&mut PatchSet], params: &Params) -> Result<()> {
    // code -> (file -> (count, example ids))
    let mut missing: BTreeMap<String, BTreeMap<String, (usize, Vec<String>)>> = BTreeMap::new();
    for set in sets.iter_mut() {
        let file = format!("{} ({})", set.path.display(), set.year);
        for p in &mut set.patches {
            p.class = params.class_of(&p.code);
            if p.class.is_none() {
                let e = missing
                    .entry(p.code.clone())
                    .or_default()
                    .entry(file.clone())
                    .or_default();
                e.0 += 1;
                if e.1.len() < 5 {
                    e.1.push(p.id.clone());
                }
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = missing
        .iter()
        .map(|(code, files)| {
            let w: Vec<String> = files
                .iter()
                .map(|(f, (n, ids))| format!("{n} patches in {f}, e.g. {}", ids.join(", ")))
                .collect();
            format!("'{code}': {}", w.join("; "))
        })
        .collect();
    Err(Error::Config(format!(
        "{} land-survey class codes are not in the class mapping (params [class_map]; add them): {}",
        missing.len(),
        list.join(" | ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(year: i32, codes: &[&str]) -> PatchSet {
        PatchSet {
            year,
            path: PathBuf::from(format!("p{year}.gpkg")),
            layer: "p".into(),
            crs_wkt: None,
            patches: codes
                .iter()
                .enumerate()
                .map(|(i, c)| Patch {
                    id: format!("{year}-{i}"),
                    code: c.to_string(),
                    class: None,
                    county: "420999".into(),
                    county_name: String::new(),
                    stratum: String::new(),
                    area_ha: 1.0,
                    planar_m2: 1e4,
                    geom: MultiPolygon::default(),
                    fid: i as u64,
                })
                .collect(),
            repairs: vec![],
        }
    }

    #[test]
    fn unmapped_codes_are_all_listed_in_one_error() {
        let p = Params::defaults();
        let mut a = set(2020, &["0301", "9999", "0101", "XX01"]);
        let mut b = set(2025, &["9999", "0301", "9998"]);
        let e = classify(&mut [&mut a, &mut b], &p).unwrap_err().to_string();
        assert!(e.contains("3 land-survey class codes"), "{e}");
        for s in [
            "'9999'",
            "'9998'",
            "'XX01'",
            "p2020.gpkg (2020)",
            "p2025.gpkg (2025)",
            "2020-1",
            "2025-2",
        ] {
            assert!(e.contains(s), "missing {s} in {e}");
        }
        let mut c = set(2020, &["0301", "0101", "1105", "0702"]);
        classify(&mut [&mut c], &p).unwrap();
        assert_eq!(c.patches[2].class, Some(LandClass::Wetland));
        assert_eq!(c.patches[3].class, Some(LandClass::OutOfScope));
    }

    #[test]
    fn flags_and_co2_ratio() {
        let mut f = Flags::default();
        assert_eq!(f.names(), "");
        f.set(Flags::DEFAULT_USED);
        f.set(Flags::SLIVER);
        assert_eq!(f.names(), "default_used;sliver");
        assert_eq!(CO2_PER_C, 44.0 / 12.0);
        assert!((CO2_PER_C - 3.666_666_666_666_667).abs() < 1e-15);
    }
}
