//! Tree tables as CSV: writing the detected tree table, and reading tree lists (ours or a
//! field inventory) for evaluation.
//!
//! Columns written: `tree_id, x, y, height_m, crown_area_m2, crown_diameter_m, n_points, dbh_cm,
//! agb_kg, crown_wkt` — empty cells for values not computed (DBH and AGB without an
//! allometry), the crown polygon as quoted WKT. The file is written under a temporary name and
//! renamed when complete.
//!
//! Reading accepts RFC 4180 quoting (commas and doubled quotes inside quoted fields) and picks
//! columns by name (see [`TreeColumns`]).

use crate::algo::trees::matching::MatchTree;
use crate::algo::trees::Tree;
use crate::points::write::{commit_temp, temp_path};
use crate::{Error, Result};
use std::io::Write;
use std::path::Path;

/// The header of a written tree table.
pub const HEADER: &str =
    "tree_id,x,y,height_m,crown_area_m2,crown_diameter_m,n_points,dbh_cm,agb_kg,crown_wkt";

/// WKT of a crown polygon (closed ring), or `POLYGON EMPTY`.
pub fn crown_wkt(crown: &[[f64; 2]]) -> String {
    if crown.len() < 3 {
        return "POLYGON EMPTY".to_string();
    }
    let mut s = String::from("POLYGON ((");
    for (i, p) in crown.iter().chain(std::iter::once(&crown[0])).enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&format!("{:.3} {:.3}", p[0], p[1]));
    }
    s.push_str("))");
    s
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map(|v| format!("{v:.digits$}")).unwrap_or_default()
}

/// Writes `trees` to `path`.
pub fn write_trees_csv(trees: &[Tree], path: &Path) -> Result<()> {
    let mut w = TreesCsvWriter::create(path)?;
    w.write(trees)?;
    w.finish()
}

/// A tree table written part by part (a county's trees never need to be in memory at once),
/// under a temporary name until [`TreesCsvWriter::finish`]; dropped unfinished, it leaves
/// nothing behind.
pub struct TreesCsvWriter {
    path: std::path::PathBuf,
    tmp: std::path::PathBuf,
    w: Option<std::io::BufWriter<std::fs::File>>,
    /// Trees written so far.
    pub n_trees: usize,
}

impl TreesCsvWriter {
    /// Starts `path` (header written).
    pub fn create(path: &Path) -> Result<TreesCsvWriter> {
        let tmp = temp_path(path);
        let mut w =
            std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?);
        writeln!(w, "{HEADER}").map_err(|e| Error::io(&tmp, e))?;
        Ok(TreesCsvWriter {
            path: path.to_path_buf(),
            tmp,
            w: Some(w),
            n_trees: 0,
        })
    }

    /// Appends `trees`, in the given order.
    pub fn write(&mut self, trees: &[Tree]) -> Result<()> {
        let w = self.w.as_mut().expect("not finished");
        for t in trees {
            writeln!(
                w,
                "{},{:.3},{:.3},{:.2},{:.2},{:.2},{},{},{},\"{}\"",
                t.id,
                t.x,
                t.y,
                t.height_m,
                t.crown_area_m2,
                t.crown_diameter_m,
                t.n_points,
                opt(t.dbh_cm, 1),
                opt(t.agb_kg, 1),
                crown_wkt(&t.crown)
            )
            .map_err(|e| Error::io(&self.tmp, e))?;
        }
        self.n_trees += trees.len();
        Ok(())
    }

    /// Flushes and gives the file its final name.
    pub fn finish(mut self) -> Result<()> {
        let mut w = self.w.take().expect("not finished");
        if let Err(e) = w.flush() {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(Error::io(&self.path, e));
        }
        drop(w);
        commit_temp(&self.tmp, &self.path)
    }
}

impl Drop for TreesCsvWriter {
    fn drop(&mut self) {
        if self.w.is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Splits one CSV record (RFC 4180 quoting).
fn split_record(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// A CSV file: header and rows (all as text).
#[derive(Debug, Clone)]
pub struct CsvTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl CsvTable {
    /// Reads `path`; blank lines are skipped, short rows padded with empty cells.
    pub fn read(path: &Path) -> Result<CsvTable> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut lines = text
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty());
        let header: Vec<String> = split_record(
            lines
                .next()
                .ok_or_else(|| Error::data(path.display(), "empty CSV file"))?
                .trim_start_matches('\u{feff}'),
        )
        .into_iter()
        .map(|h| h.trim().to_string())
        .collect();
        let rows = lines
            .map(|l| {
                let mut r = split_record(l);
                r.resize(header.len().max(r.len()), String::new());
                r
            })
            .collect();
        Ok(CsvTable { header, rows })
    }

    /// Index of the first column named (case-insensitively) like one of `names`.
    pub fn column(&self, names: &[&str]) -> Option<usize> {
        names
            .iter()
            .find_map(|n| self.header.iter().position(|h| h.eq_ignore_ascii_case(n)))
    }
}

/// Which columns hold x, y, height and DBH. `None` = pick automatically: x from `x`, `x_*`
/// (e.g. `x_epsg2154`), `easting`; y likewise; height from `height_m`, `height`, `h`, `ht`;
/// DBH from `dbh_cm`, `dbh`, `d`.
#[derive(Debug, Clone, Default)]
pub struct TreeColumns {
    pub x: Option<String>,
    pub y: Option<String>,
    pub height: Option<String>,
    pub dbh: Option<String>,
}

fn auto_coord(t: &CsvTable, axis: &str, alt: &str) -> Option<usize> {
    t.column(&[axis, alt]).or_else(|| {
        t.header
            .iter()
            .position(|h| h.to_ascii_lowercase().starts_with(&format!("{axis}_")))
    })
}

/// Reads a tree list (positions, heights and DBHs when present) from a CSV file.
pub fn read_match_trees_csv(path: &Path, cols: &TreeColumns) -> Result<Vec<MatchTree>> {
    let t = CsvTable::read(path)?;
    let find = |given: &Option<String>, auto: Option<usize>, what: &str, required: bool| match given
    {
        Some(name) => t.column(&[name.as_str()]).map(Some).ok_or_else(|| {
            Error::data(
                path.display(),
                format!("no column '{name}' (columns: {})", t.header.join(", ")),
            )
        }),
        None if required && auto.is_none() => Err(Error::data(
            path.display(),
            format!(
                "no {what} column found (columns: {}); name it with a flag",
                t.header.join(", ")
            ),
        )),
        None => Ok(auto),
    };
    let ix = find(&cols.x, auto_coord(&t, "x", "easting"), "x", true)?.unwrap_or(0);
    let iy = find(&cols.y, auto_coord(&t, "y", "northing"), "y", true)?.unwrap_or(0);
    let ih = find(
        &cols.height,
        t.column(&["height_m", "height", "h", "ht"]),
        "height",
        false,
    )?;
    let id = find(&cols.dbh, t.column(&["dbh_cm", "dbh", "d"]), "DBH", false)?;
    let num = |row: usize, col: usize, what: &str| -> Result<Option<f64>> {
        let s = t.rows[row][col].trim();
        if s.is_empty() || s.eq_ignore_ascii_case("na") || s.eq_ignore_ascii_case("nan") {
            return Ok(None);
        }
        s.parse::<f64>().map(Some).map_err(|_| {
            Error::data(
                path.display(),
                format!("row {}: {what} '{s}' is not a number", row + 2),
            )
        })
    };
    let mut out = Vec::with_capacity(t.rows.len());
    for r in 0..t.rows.len() {
        let (Some(x), Some(y)) = (num(r, ix, "x")?, num(r, iy, "y")?) else {
            log::warn!("{}: row {} has no position; skipped", path.display(), r + 2);
            continue;
        };
        out.push(MatchTree {
            x,
            y,
            height_m: ih.map(|c| num(r, c, "height")).transpose()?.flatten(),
            dbh_cm: id.map(|c| num(r, c, "DBH")).transpose()?.flatten(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_by_part_equals_at_once_and_unfinished_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let tree = |id: u64| Tree {
            id,
            x: id as f64,
            y: 2.0 * id as f64,
            height_m: 10.0 + id as f64,
            crown_area_m2: 4.0,
            crown_diameter_m: 2.26,
            n_points: 9,
            crown: vec![],
            dbh_cm: Some(20.0),
            agb_kg: None,
        };
        let all: Vec<Tree> = (1..=5).map(tree).collect();
        let (one, parts) = (dir.path().join("one.csv"), dir.path().join("parts.csv"));
        write_trees_csv(&all, &one).unwrap();
        let mut w = TreesCsvWriter::create(&parts).unwrap();
        w.write(&all[..2]).unwrap();
        w.write(&all[2..]).unwrap();
        assert_eq!(w.n_trees, 5);
        w.finish().unwrap();
        assert_eq!(std::fs::read(&one).unwrap(), std::fs::read(&parts).unwrap());
        let unfinished = dir.path().join("unfinished.csv");
        let mut w = TreesCsvWriter::create(&unfinished).unwrap();
        w.write(&all).unwrap();
        drop(w);
        assert!(!unfinished.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn write_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        let trees = vec![Tree {
            id: 42,
            x: 100.5,
            y: 200.25,
            height_m: 21.5,
            crown_area_m2: 12.0,
            crown_diameter_m: 3.91,
            n_points: 77,
            crown: vec![[100.0, 200.0], [101.0, 200.0], [101.0, 201.0]],
            dbh_cm: None,
            agb_kg: Some(300.0),
        }];
        write_trees_csv(&trees, &p).unwrap();
        let t = CsvTable::read(&p).unwrap();
        assert_eq!(t.header.len(), 10);
        assert_eq!(
            t.rows[0][9],
            "POLYGON ((100.000 200.000, 101.000 200.000, 101.000 201.000, 100.000 200.000))"
        );
        let m = read_match_trees_csv(&p, &TreeColumns::default()).unwrap();
        assert_eq!(
            m,
            vec![MatchTree {
                x: 100.5,
                y: 200.25,
                height_m: Some(21.5),
                dbh_cm: None
            }]
        );
    }

    #[test]
    fn inventory_style_columns_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inv.csv");
        std::fs::write(
            &p,
            "tree_no,x_epsg2154,y_epsg2154,dbh_cm,height_m,species\n1,10.5,20.5,37.6,23.6,PIAB\n2,11,21,NA,,\"A, B\"\n",
        )
        .unwrap();
        let m = read_match_trees_csv(&p, &TreeColumns::default()).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].dbh_cm, Some(37.6));
        assert_eq!(m[1].height_m, None);
        let bad = TreeColumns {
            x: Some("nope".into()),
            ..Default::default()
        };
        assert!(read_match_trees_csv(&p, &bad).is_err());
    }
}
