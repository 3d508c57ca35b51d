//! Splitting one LAS/LAZ file into several uncompressed LAS files by rectangles, in one
//! streaming pass: each batch of decompressed records is routed, record by record and without
//! decoding anything but x and y, to every output one of whose rectangles contains the point.
//! Memory is one batch plus one batch per output, whatever the file's size; the records are
//! copied byte for byte, with the file's header (scale, offset, format, VLRs), so that reading
//! an output gives the same points, bit for bit and in the same order, as reading the file and
//! filtering it.

use super::layout::{rd_i32, RecordLayout};
use super::read::{fill, open};
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
    let result = (|| -> Result<()> {
        let mut slab = las::PointDataBuilder::new()
            .for_header(reader.header())
            .build();
        let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); outputs.len()];
        let mut seen = 0u64;
        while seen < expected {
            let got = fill(&mut reader, &mut slab, path, &meta, expected, seen)?;
            if got == 0 {
                break;
            }
            seen += got;
            for rec in slab.raw_bytes().chunks_exact(lay.len) {
                // The same arithmetic as the decoder, so that the rectangles cut exactly where a
                // filter on the decoded points would.
                let x = rd_i32(rec, 0) as f64 * t.x.scale + t.x.offset;
                let y = rd_i32(rec, 4) as f64 * t.y.scale + t.y.offset;
                for (k, (rects, _)) in outputs.iter().enumerate() {
                    if rects
                        .iter()
                        .any(|r| x >= r[0] && x <= r[2] && y >= r[1] && y <= r[3])
                    {
                        bufs[k].extend_from_slice(rec);
                    }
                }
            }
            for (k, buf) in bufs.iter_mut().enumerate() {
                if buf.is_empty() {
                    continue;
                }
                counts[k] += (buf.len() / lay.len) as u64;
                writers[k].write(buf)?;
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
