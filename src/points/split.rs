//! Splitting one LAS/LAZ file into several uncompressed LAS files by rectangles, in one
//! streaming pass: each batch of decompressed records is routed, record by record and without
//! decoding anything but x and y, to every output one of whose rectangles contains the point.
//! Memory is one batch plus one batch per output, whatever the file's size; the records are
//! copied byte for byte, with the file's header (scale, offset, format, VLRs), so that reading
//! an output gives the same points, bit for bit and in the same order, as reading the file and
//! filtering it.

use super::layout::{rd_i32, RecordLayout};
use super::read::{fill_at_most, open};
use super::record_writer::RecordWriter;
use super::write::{commit_temp, temp_path};
use crate::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An axis-aligned rectangle `[xmin, ymin, xmax, ymax]`, edges included.
pub type SplitRect = [f64; 4];

/// Writes to each `outputs[k].1` (a `.las` path) the points of `path` inside any rectangle of
/// `outputs[k].0`; returns the points written to each output. A point may go to several outputs.
pub fn split_by_rects(path: &Path, outputs: &[(Vec<SplitRect>, PathBuf)]) -> Result<Vec<u64>> {
    let (mut reader, meta) = open(path)?;
    let expected = meta.header.number_of_points();
    let mut b = las::Builder::from(meta.header.clone());
    b.point_format.is_compressed = false;
    b.vlrs
        .retain(|v| !las::laz::is_laszip_vlr(v) && !super::copc::is_copc_record(v));
    b.evlrs.retain(|v| !super::copc::is_copc_record(v));
    let header = b
        .into_header()
        .map_err(|e| Error::las(path, format!("cannot build a split header: {e}")))?;
    let lay = RecordLayout::of(&meta.format);
    let t = *meta.header.transforms();
    let mut tmps = Vec::with_capacity(outputs.len());
    let mut writers = Vec::with_capacity(outputs.len());
    for (_, out) in outputs {
        let tmp = temp_path(out);
        let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let w = RecordWriter::new(std::io::BufWriter::new(file), header.clone(), out)?;
        tmps.push(tmp);
        writers.push(w);
    }
    let mut counts = vec![0u64; outputs.len()];
    // An output one of whose rectangles is the whole plane (a copy of the file) takes every
    // record: its batches are written as decoded, without gathering them record by record.
    let everything: Vec<bool> = outputs
        .iter()
        .map(|(rects, _)| {
            rects.iter().any(|r| {
                r[0] == f64::NEG_INFINITY
                    && r[1] == f64::NEG_INFINITY
                    && r[2] == f64::INFINITY
                    && r[3] == f64::INFINITY
            })
        })
        .collect();
    let batch = split_batch_points(&meta.header);
    let result = (|| -> Result<()> {
        let mut slab = las::PointDataBuilder::new()
            .for_header(reader.header())
            .build();
        let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); outputs.len()];
        let mut seen = 0u64;
        while seen < expected {
            let got = fill_at_most(&mut reader, &mut slab, path, &meta, expected, seen, batch)?;
            if got == 0 {
                break;
            }
            seen += got;
            let records = slab.raw_bytes();
            if everything.iter().any(|&e| !e) {
                for rec in records.chunks_exact(lay.len) {
                    // The same arithmetic as the decoder, so that the rectangles cut exactly
                    // where a filter on the decoded points would.
                    let x = rd_i32(rec, 0) as f64 * t.x.scale + t.x.offset;
                    let y = rd_i32(rec, 4) as f64 * t.y.scale + t.y.offset;
                    for (k, (rects, _)) in outputs.iter().enumerate() {
                        if !everything[k]
                            && rects
                                .iter()
                                .any(|r| x >= r[0] && x <= r[2] && y >= r[1] && y <= r[3])
                        {
                            bufs[k].extend_from_slice(rec);
                        }
                    }
                }
            }
            for (k, buf) in bufs.iter_mut().enumerate() {
                let out: &[u8] = if everything[k] { records } else { buf };
                if out.is_empty() {
                    continue;
                }
                counts[k] += (out.len() / lay.len) as u64;
                writers[k].write(out)?;
                buf.clear();
            }
        }
        if seen < expected {
            return Err(Error::PointCount {
                path: path.to_path_buf(),
                expected,
                found: seen,
            });
        }
        for (w, tmp) in writers.drain(..).zip(&tmps) {
            w.close()?.flush().map_err(|e| Error::io(tmp, e))?;
        }
        Ok(())
    })();
    match result {
        Ok(()) => {
            for (tmp, (_, out)) in tmps.iter().zip(outputs) {
                commit_temp(tmp, out)?;
            }
            Ok(counts)
        }
        Err(e) => {
            for (w, tmp) in writers.into_iter().zip(&tmps) {
                // A writer not closed closes itself on drop and panics if that fails: forget it.
                std::mem::forget(w);
                let _ = std::fs::remove_file(tmp);
            }
            Err(e)
        }
    }
}

/// Points decoded per batch of a split: one LAZ chunk per thread of the pool (the decoder
/// decodes whole chunks, in parallel), so that a batch is routed and written while it is still
/// in the cache (batches of [`super::read::READ_BATCH_POINTS`] records, tens of MB, went
/// through memory three times: decoded, gathered, copied by the kernel).
fn split_batch_points(header: &las::Header) -> u64 {
    let chunk = header
        .laz_vlr()
        .ok()
        .filter(|v| !v.uses_variable_size_chunks())
        .map_or(50_000, |v| u64::from(v.chunk_size()));
    chunk.max(1) * rayon::current_num_threads() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::points::read::{read_filtered, read_scratch_into};
    use crate::points::{open, PointCloud};

    fn same_points(a: &PointCloud, b: &PointCloud) {
        assert_eq!(a.len(), b.len());
        assert_eq!(a.x, b.x);
        assert_eq!(a.y, b.y);
        assert_eq!(a.z, b.z);
        assert_eq!(a.intensity, b.intensity);
        assert_eq!(a.return_number, b.return_number);
        assert_eq!(a.number_of_returns, b.number_of_returns);
        assert_eq!(a.classification, b.classification);
        assert_eq!(a.flags, b.flags);
        assert_eq!(a.scan_angle_deg, b.scan_angle_deg);
        assert_eq!(a.user_data, b.user_data);
        assert_eq!(a.point_source_id, b.point_source_id);
        assert_eq!(a.gps_time, b.gps_time);
        assert_eq!(a.rgb, b.rgb);
        assert_eq!(a.extra.data, b.extra.data);
        assert_eq!(a.is_buffer, b.is_buffer);
    }

    /// A split's outputs (a copy of the file, a rectangle, two rectangles), read back by the
    /// scratch reader, hold the points of the file that a filter keeps, in the same order.
    #[test]
    fn split_outputs_read_back_as_the_filtered_file() {
        let src =
            crate::testdata::bundled("ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz");
        let all = crate::points::read(&src).unwrap();
        let (x0, x1) = (
            all.x.iter().cloned().fold(f64::INFINITY, f64::min),
            all.x.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        );
        let (y0, y1) = (
            all.y.iter().cloned().fold(f64::INFINITY, f64::min),
            all.y.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
        );
        let (xm, ym) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        let everything = [
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::INFINITY,
        ];
        let left = [x0, y0, xm, y1];
        let corner = [xm, ym, x1, y1];
        let bottom = [x0, y0, x1, ym];
        let dir = tempfile::tempdir().unwrap();
        let outputs: Vec<(Vec<SplitRect>, PathBuf)> = vec![
            (vec![everything], dir.path().join("whole.las")),
            (vec![left], dir.path().join("left.las")),
            (vec![corner, bottom], dir.path().join("two.las")),
        ];
        let counts = split_by_rects(&src, &outputs).unwrap();
        assert_eq!(counts[0], all.len() as u64);
        let inside =
            |r: &SplitRect, x: f64, y: f64| x >= r[0] && x <= r[2] && y >= r[1] && y <= r[3];
        for (k, (rects, path)) in outputs.iter().enumerate() {
            let (_, meta) = open(path).unwrap();
            assert!(!meta.format.is_compressed);
            // A copy read as core points, the others with a filter that flags some as buffer.
            let mut got = PointCloud::empty(meta.clone());
            let mut want = if k == 0 {
                read_scratch_into::<fn(f64, f64) -> Option<bool>>(path, meta, &mut got, None)
                    .unwrap();
                read_filtered(&src, &mut |_, _| Some(false)).unwrap()
            } else {
                let mut keep = |x: f64, y: f64| inside(&left, x, y).then_some(x > xm - 1.0);
                read_scratch_into(path, meta, &mut got, Some(&mut keep)).unwrap();
                read_filtered(&src, &mut |x, y| {
                    rects.iter().any(|r| inside(r, x, y)).then_some(())?;
                    keep(x, y)
                })
                .unwrap()
            };
            want.meta = got.meta.clone();
            assert!(got.len() as u64 <= counts[k]);
            same_points(&got, &want);
        }
        assert!(counts[1] > 0 && counts[2] > 0 && counts[1] < counts[0]);
    }

    /// A scratch file shorter than its header says fails with the file's name and the count.
    #[test]
    fn a_truncated_scratch_file_is_an_error_naming_it() {
        let src =
            crate::testdata::bundled("ignf-lidar-for-fuel_test_data_0000_0000_LA93_IGN69.laz");
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("whole.las");
        let everything = [
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::INFINITY,
        ];
        split_by_rects(&src, &[(vec![everything], out.clone())]).unwrap();
        let (_, meta) = open(&out).unwrap();
        let len = std::fs::metadata(&out).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&out).unwrap();
        f.set_len(len - 100).unwrap();
        let mut cloud = PointCloud::empty(meta.clone());
        let err = read_scratch_into::<fn(f64, f64) -> Option<bool>>(&out, meta, &mut cloud, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("whole.las"), "{err}");
    }
}
