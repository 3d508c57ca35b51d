//! Where a file's points lie, from a small sample instead of a full decode: the first points of
//! every LAZ chunk (or of every stretch of records of a LAS file), each standing for its share of
//! the chunk.
//!
//! Airborne files are stored in flight order or sorted in space, so the first points of each
//! chunk of 50,000 fall at evenly spaced places along the flight lines, or in each chunk's own
//! cell of a sorted file: a sample of about 2 % that follows the points' real distribution, gaps
//! and overlaps included, where the header's bounding box only gives a mean. The catalog sizes
//! the parts of a big tile with it (`catalog::plan`).

use super::layout::{rd_i32, RecordLayout};
use super::read::{las_error, open_checked};
use crate::{Error, Result};
use std::io::{Seek, SeekFrom};
use std::path::Path;

/// Points decoded at the start of each chunk or stretch.
pub const SAMPLE_TAKE_POINTS: u64 = 1_000;
/// Records per stretch in a LAS file, and per chunk of a LAZ file without a readable table.
pub const SAMPLE_STRETCH_POINTS: u64 = 50_000;

/// Sampled positions, each with the number of the file's points it stands for.
#[derive(Debug, Default, Clone)]
pub struct XySample {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub weight: Vec<f64>,
}

/// Samples the positions of `path`'s points (see the module doc). The weights add up to the
/// header's point count.
pub fn sample_xy(path: &Path) -> Result<XySample> {
    let (mut reader, meta, facts) = open_checked(path)?;
    let n = meta.header.number_of_points();
    let lay = RecordLayout::of(&meta.format);
    let t = *meta.header.transforms();
    let mut out = XySample::default();
    let mut push = |bytes: &[u8], stands_for: u64| {
        let got = bytes.len() / lay.len.max(1);
        if got == 0 {
            return;
        }
        let w = stands_for as f64 / got as f64;
        for rec in bytes.chunks_exact(lay.len) {
            out.x.push(rd_i32(rec, 0) as f64 * t.x.scale + t.x.offset);
            out.y.push(rd_i32(rec, 4) as f64 * t.y.scale + t.y.offset);
            out.weight.push(w);
        }
    };
    let stretches = |sizes: &mut dyn Iterator<Item = u64>| -> Vec<(u64, u64)> {
        let mut v = Vec::new();
        let mut start = 0u64;
        for s in sizes {
            if start >= n {
                break;
            }
            // An empty chunk (a COPC node may hold none) has nothing to sample.
            let count = s.min(n - start);
            if count > 0 {
                v.push((start, count));
            }
            start += count;
        }
        v
    };
    if !meta.format.is_compressed {
        let mut slab = las::PointDataBuilder::new()
            .for_header(reader.header())
            .build();
        for (start, count) in stretches(&mut std::iter::repeat(SAMPLE_STRETCH_POINTS)) {
            reader.seek(start).map_err(|e| las_error(path, e))?;
            let got = reader
                .fill_points(count.min(SAMPLE_TAKE_POINTS), &mut slab)
                .map_err(|e| las_error(path, e))?;
            if got == 0 {
                break;
            }
            push(slab.raw_bytes(), count);
        }
        return Ok(out);
    }
    drop(reader);
    let vlr = meta
        .header
        .laz_vlr()
        .map_err(|e| Error::las(path, format!("no readable LASzip VLR: {e}")))?;
    let open_at_points = || -> Result<std::io::BufReader<std::fs::File>> {
        let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        f.seek(SeekFrom::Start(facts.offset_to_points))
            .map_err(|e| Error::io(path, e))?;
        Ok(std::io::BufReader::new(f))
    };
    let sizes: Vec<u64> = laz::laszip::ChunkTable::read_from(open_at_points()?, &vlr)
        .map(|t| t.as_ref().iter().map(|e| e.point_count).collect())
        .unwrap_or_default();
    let starts = if sizes.is_empty() {
        // No table (point-wise, or unreadable): one stretch from the start, as a LAZ stream can
        // only be read forward.
        stretches(&mut std::iter::once(n))
    } else {
        stretches(&mut sizes.into_iter())
    };
    let mut dec = laz::LasZipDecompressor::new(open_at_points()?, vlr)
        .map_err(|e| Error::las(path, format!("cannot start LAZ decoding: {e}")))?;
    let mut buf = Vec::new();
    for (start, count) in starts {
        let take = count.min(SAMPLE_TAKE_POINTS) as usize;
        buf.resize(take * lay.len, 0);
        // The decoder starts at point 0; a file without a chunk table cannot seek.
        if start > 0 {
            dec.seek(start)
                .map_err(|e| Error::las(path, format!("LAZ chunk at point {start}: {e}")))?;
        }
        dec.decompress_many(&mut buf)
            .map_err(|e| Error::las(path, format!("LAZ chunk at point {start}: {e}")))?;
        push(&buf, count);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::points;
    use crate::synth::{generate, SynthParams};

    /// Two clusters 1 km apart, 30 % and 70 % of the points, stored one after the other (as
    /// flight lines are): the sample finds each cluster's share, and its weights add up to the
    /// points.
    #[test]
    fn the_sample_follows_where_the_points_are() {
        let dir = tempfile::tempdir().unwrap();
        let (mut c, _) = generate(&SynthParams {
            size_m: [200.0, 200.0],
            pulses_per_m2: 20.0,
            ..SynthParams::default()
        });
        let n = c.len();
        // 20 or more LAZ chunks: a chunk is the sample's grain (its first points stand for it).
        assert!(n > 900_000, "{n} points");
        let west = n * 3 / 10;
        for x in &mut c.x[west..] {
            *x += 1000.0;
        }
        for ext in ["laz", "las"] {
            let p = dir.path().join(format!("two.{ext}"));
            points::write(&c, &p).unwrap();
            let s = sample_xy(&p).unwrap();
            let total: f64 = s.weight.iter().sum();
            assert!(
                (total - n as f64).abs() < 1e-6,
                "{ext}: weights add to {total}"
            );
            assert!(s.x.len() < n / 20, "{ext}: sampled {} of {n}", s.x.len());
            let w: f64 =
                s.x.iter()
                    .zip(&s.weight)
                    .filter(|(x, _)| **x < c.x[0] + 500.0)
                    .map(|(_, w)| w)
                    .sum();
            let share = w / total;
            let grain = SAMPLE_STRETCH_POINTS as f64 / n as f64;
            assert!((share - 0.3).abs() <= grain, "{ext}: west share {share}");
        }
    }
}
