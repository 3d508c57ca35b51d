//! Checks of field-plot rows shared by `calibrate` (plot AGB) and `account` (plot carbon
//! densities): a field value that cannot be a biomass or a carbon density (negative, NaN,
//! infinite) is an error in the survey data — never a row to drop or to use (an AGB of −50
//! once moved a region's stock and its uncertainty from 43 % to 109 %) — and one plot must
//! not enter a statistic twice. Zero is a valid measurement (a plot without dead wood, a
//! clear-cut plot without trees) and is accepted.

use std::collections::HashMap;

/// Why `v` is not a valid field value of `column` for plot `id`, if it is not.
pub fn invalid_value(id: &str, column: &str, v: f64) -> Option<String> {
    if v.is_finite() && v >= 0.0 {
        None
    } else {
        Some(format!(
            "plot '{id}': {column} = {v} is not a valid field value (must be finite and ≥ 0)"
        ))
    }
}

/// Plot ids seen so far, each with where it was first seen (a row or line number).
#[derive(Debug, Default)]
pub struct SeenIds {
    first: HashMap<String, String>,
}

impl SeenIds {
    /// Records `id` seen at `at` (`"row 3"`, `"line 5"`); an empty id or a second sighting
    /// is an error message naming the plot and both places.
    pub fn insert(&mut self, id: &str, at: &str) -> Result<(), String> {
        if id.trim().is_empty() {
            return Err(format!("{at}: empty plot id"));
        }
        match self.first.get(id) {
            Some(first) => Err(format!("plot id '{id}' appears twice ({first} and {at})")),
            None => {
                self.first.insert(id.to_string(), at.to_string());
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_ids() {
        assert!(invalid_value("P1", "agb", 0.0).is_none());
        assert!(invalid_value("P1", "agb", 12.5).is_none());
        for v in [-50.0, f64::NAN, f64::INFINITY] {
            let e = invalid_value("P7", "agb", v).unwrap();
            assert!(e.contains("'P7'") && e.contains("agb"), "{e}");
        }
        let mut s = SeenIds::default();
        s.insert("A", "row 1").unwrap();
        s.insert("B", "row 2").unwrap();
        let e = s.insert("A", "row 9").unwrap_err();
        assert!(
            e.contains("'A'") && e.contains("row 1") && e.contains("row 9"),
            "{e}"
        );
        assert!(s
            .insert(" ", "row 10")
            .unwrap_err()
            .contains("empty plot id"));
    }
}
