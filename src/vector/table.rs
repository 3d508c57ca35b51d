//! Attribute tables: CSV (comma, semicolon or tab separated, detected from the header line)
//! and the attribute table of a GDAL vector layer (GeoPackage, Shapefile, …), held as text
//! cells with typed accessors.
//!
//! Missing values: an empty cell, `NA`, `NaN`, `nan`, `null` and `-9999` (the crate's nodata)
//! read as missing in [`Table::numeric`]. Tables written by the crate use `NA` for undefined
//! values, never NaN.

use crate::{Error, Result};
use std::path::Path;

/// A table of text cells: `rows[i][j]` is column `columns[j]` of row `i`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The text written for an undefined number.
pub const NA: &str = "NA";

/// Whether a cell is a missing value.
pub fn is_missing(cell: &str) -> bool {
    matches!(
        cell.trim(),
        "" | "NA" | "NaN" | "nan" | "NAN" | "null" | "NULL" | "-9999"
    )
}

/// Formats a number for a table: `NA` when not finite, else the shortest exact form.
pub fn fmt_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        NA.to_string()
    }
}

impl Table {
    /// Index of a column (exact name, then case-insensitive).
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name).or_else(|| {
            self.columns
                .iter()
                .position(|c| c.eq_ignore_ascii_case(name))
        })
    }

    /// Index of a column or an error naming the table's columns.
    pub fn require(&self, name: &str, what: &str) -> Result<usize> {
        self.col(name).ok_or_else(|| {
            Error::data(
                what,
                format!("no column '{name}' (columns: {})", self.columns.join(", ")),
            )
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// `true` when the table has no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Cell `(row, col)` as text.
    pub fn cell(&self, row: usize, col: usize) -> &str {
        self.rows[row].get(col).map(|s| s.as_str()).unwrap_or("")
    }

    /// A column as numbers: `Ok(None)` for missing cells, an error naming the first cell that is
    /// neither a number nor missing.
    pub fn numeric(&self, col: usize, what: &str) -> Result<Vec<Option<f64>>> {
        self.rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let s = r.get(col).map(|s| s.trim()).unwrap_or("");
                if is_missing(s) {
                    return Ok(None);
                }
                s.parse::<f64>().map(Some).map_err(|_| {
                    Error::data(
                        what,
                        format!(
                            "row {}: column '{}' holds '{s}', not a number",
                            i + 1,
                            self.columns[col]
                        ),
                    )
                })
            })
            .collect()
    }

    /// Whether every non-missing cell of the column parses as a number (and one at least does).
    pub fn is_numeric(&self, col: usize) -> bool {
        let mut any = false;
        for r in &self.rows {
            let s = r.get(col).map(|s| s.trim()).unwrap_or("");
            if is_missing(s) {
                continue;
            }
            if s.parse::<f64>().is_err() {
                return false;
            }
            any = true;
        }
        any
    }

    /// Reads a CSV file, or the attributes of the first layer of a GDAL vector file
    /// (`.gpkg`, `.shp`, `.geojson`, …).
    pub fn read(path: &Path) -> Result<Table> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if matches!(ext.as_str(), "csv" | "txt" | "tsv") {
            read_csv(path)
        } else {
            super::plots::read_vector_attributes(path)
        }
    }

    /// Writes the table as CSV (comma separated), under a temporary name then renamed.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let tmp = crate::points::write::temp_path(path);
        let result = (|| -> Result<()> {
            let mut w = csv::Writer::from_path(&tmp).map_err(|e| csv_err(&tmp, e))?;
            w.write_record(&self.columns)
                .map_err(|e| csv_err(&tmp, e))?;
            for r in &self.rows {
                w.write_record(r).map_err(|e| csv_err(&tmp, e))?;
            }
            w.flush().map_err(|e| Error::io(&tmp, e))?;
            Ok(())
        })();
        match result {
            Ok(()) => crate::points::write::commit_temp(&tmp, path),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    Error::data(path.display(), format!("CSV: {e}"))
}

/// Reads a CSV file with a header line. The delimiter (`,`, `;` or tab) is the one that occurs
/// most in the header line.
pub fn read_csv(path: &Path) -> Result<Table> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let header = text.lines().next().unwrap_or("");
    let delim = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| header.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let columns: Vec<String> = rdr
        .headers()
        .map_err(|e| csv_err(path, e))?
        .iter()
        .map(|s| s.to_string())
        .collect();
    if columns.is_empty() || (columns.len() == 1 && columns[0].is_empty()) {
        return Err(Error::data(path.display(), "empty CSV file (no header)"));
    }
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| csv_err(path, e))?;
        if rec.iter().all(|c| c.is_empty()) {
            continue;
        }
        rows.push(rec.iter().map(|s| s.to_string()).collect());
    }
    Ok(Table { columns, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trip_and_missing_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "id;a;b\np1;1.5;NA\np2;-2;\n").unwrap();
        let t = Table::read(&p).unwrap();
        assert_eq!(t.columns, ["id", "a", "b"]);
        assert_eq!(t.len(), 2);
        let a = t.numeric(t.col("a").unwrap(), "t").unwrap();
        assert_eq!(a, [Some(1.5), Some(-2.0)]);
        let b = t.numeric(t.col("B").unwrap(), "t").unwrap();
        assert_eq!(b, [None, None]);
        assert!(t.is_numeric(1));
        assert!(!t.is_numeric(0));
        assert!(t.numeric(0, "t").unwrap_err().to_string().contains("p1"));
        let q = dir.path().join("out.csv");
        t.write_csv(&q).unwrap();
        let t2 = Table::read(&q).unwrap();
        assert_eq!(t, t2);
        assert_eq!(fmt_num(f64::NAN), "NA");
        assert_eq!(fmt_num(0.25), "0.25");
    }
}
