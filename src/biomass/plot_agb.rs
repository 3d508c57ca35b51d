//! Field plot AGB from a tree list: Σ tree AGB (allometry of each tree's species group,
//! [`super::allometry`]) over the plot area, in t d.m./ha.
//!
//! AGB_plot [t/ha] = Σᵢ AGBᵢ [kg] / 1000 / (area [m²] / 10 000).
//!
//! Trees with a missing DBH or height are refused (not silently skipped): a plot total with
//! missing trees would be biased low. Trees whose group is empty use the table's default
//! group.
//!
//! See also: [`super::allometry`], `landcarbon calibrate --trees`.

use super::allometry::AllometryTable;
use crate::vector::Table;
use crate::{Error, Result};
use std::collections::BTreeMap;

/// Column names of a tree list.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeColumns {
    pub plot: String,
    pub dbh_cm: String,
    pub height_m: String,
    /// Species-group column (optional).
    pub group: Option<String>,
}

impl Default for TreeColumns {
    fn default() -> Self {
        TreeColumns {
            plot: "plot_id".into(),
            dbh_cm: "dbh_cm".into(),
            height_m: "height_m".into(),
            group: Some("group".into()),
        }
    }
}

/// AGB per plot in kg (plot id → (kg, trees)).
pub fn plot_agb_kg(
    trees: &Table,
    cols: &TreeColumns,
    allometry: &AllometryTable,
) -> Result<BTreeMap<String, (f64, usize)>> {
    let what = "tree list";
    let pc = trees.require(&cols.plot, what)?;
    let dc = trees.require(&cols.dbh_cm, what)?;
    let hc = trees.require(&cols.height_m, what)?;
    let gc = cols.group.as_ref().and_then(|g| trees.col(g));
    let d = trees.numeric(dc, what)?;
    let h = trees.numeric(hc, what)?;
    let mut out: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for i in 0..trees.len() {
        let (Some(dbh), Some(ht)) = (d[i], h[i]) else {
            return Err(Error::data(
                what,
                format!("row {}: missing DBH or height", i + 1),
            ));
        };
        let group = gc
            .map(|c| trees.cell(i, c).trim())
            .filter(|g| !g.is_empty());
        let eq = &allometry.group(group)?.agb;
        let kg = eq.agb_kg(dbh, ht);
        let e = out.entry(trees.cell(i, pc).to_string()).or_insert((0.0, 0));
        e.0 += kg;
        e.1 += 1;
    }
    Ok(out)
}

/// Converts a plot total in kg to t/ha for a plot of `area_m2`.
pub fn kg_to_t_ha(kg: f64, area_m2: f64) -> f64 {
    kg / 1000.0 / (area_m2 / 10_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::biomass::allometry::AgbEquation;

    #[test]
    fn plot_totals_by_hand() {
        let t = Table {
            columns: vec!["plot_id".into(), "dbh_cm".into(), "height_m".into()],
            rows: vec![
                vec!["A".into(), "20".into(), "15".into()],
                vec!["A".into(), "20".into(), "15".into()],
                vec!["B".into(), "30".into(), "20".into()],
            ],
        };
        let p = crate::params::Params::defaults();
        let m = plot_agb_kg(&t, &TreeColumns::default(), &p.allometry).unwrap();
        let eq = &p.allometry.group(None).unwrap().agb;
        assert!((m["A"].0 - 2.0 * eq.agb_kg(20.0, 15.0)).abs() < 1e-9);
        assert_eq!(m["B"].1, 1);
        // Chave 2014 with ρ 0.5: 166.60 kg per tree (carbon-accounting.md §3.1).
        let chave = AgbEquation::Chave2014 {
            wood_density_g_cm3: 0.5,
        };
        let kg = 2.0 * chave.agb_kg(20.0, 15.0);
        // Two such trees on a 400 m² plot: 333.2 kg → 8.33 t/ha.
        assert!((kg_to_t_ha(kg, 400.0) - 8.33).abs() < 0.001);
    }
}
