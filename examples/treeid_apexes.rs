//! Writes the apex (highest return) of each tree of a LAS/LAZ file that carries a `treeID`
//! extra-bytes dimension, as a reference CSV (x, y, height_m) for `landcarbon eval trees`:
//! lidR's `MixedConifer.laz` holds such IDs from an algorithmic segmentation (not field truth).
//! The file must be height-normalized (z = height above ground).
//!
//! ```sh
//! cargo run --release --example treeid_apexes -- IN.laz OUT.csv
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = PathBuf::from(args.next().ok_or("usage: treeid_apexes IN.laz OUT.csv")?);
    let output = PathBuf::from(args.next().ok_or("usage: treeid_apexes IN.laz OUT.csv")?);
    let c = landcarbon::points::read(&input)?;
    let ids = c
        .extra
        .get_f64("treeID")
        .ok_or_else(|| format!("{}: no treeID extra-bytes dimension", input.display()))?;
    let mut apex: BTreeMap<i64, usize> = BTreeMap::new();
    for (i, &id) in ids.iter().enumerate() {
        if !id.is_finite() || id <= 0.0 {
            continue;
        }
        let e = apex.entry(id as i64).or_insert(i);
        if c.z[i] > c.z[*e] {
            *e = i;
        }
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(&output)?);
    writeln!(f, "x,y,height_m")?;
    for &i in apex.values() {
        writeln!(f, "{:.3},{:.3},{:.3}", c.x[i], c.y[i], c.z[i])?;
    }
    println!("{}: {} trees", output.display(), apex.len());
    Ok(())
}
