//! A LAS/LAZ writer of raw point records that keeps the header's statistics (point count,
//! count by return, bounds) itself, from the integer coordinates and one byte per record.
//!
//! `las::Writer::write_points` updates them through `Header::add_point_data`, which hashes
//! every record's return number into a `HashMap` and converts every coordinate to `f64`: about
//! 320 instructions a point, a fifth of LAZ-encoding it and 5 % of the whole `ground` command
//! (callgrind, lasR_bcts_2). Here the same statistics cost a few instructions a point, and the
//! file is the same, byte for byte: the same header, VLRs, LAZ stream (laz-rs's parallel
//! compressor, as `las::Writer` uses by default), point padding and EVLRs, written in the same
//! order. The minimum of `scale · X + offset` over the points is taken at the smallest (or, for
//! a negative scale, largest) integer `X`: the transform is monotonic in floating point too, so
//! the bounds are the ones the `las` crate computes point by point.

use crate::{Error, Result};
use las::feature::LargeFiles;
use laz::ParLasZipCompressor;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Writes raw records (the layout of `header`'s point format) to a LAS or LAZ stream.
pub(crate) struct RecordWriter<W: Write + Seek + Send + Sync> {
    /// The header as first written: statistics cleared, the LAZ VLR added when compressed.
    header: las::Header,
    sink: Sink<W>,
    /// Where the header starts in the stream.
    start: u64,
    record_len: usize,
    stats: Stats,
    /// The file named in errors.
    path: PathBuf,
}

enum Sink<W: Write + Seek + Send + Sync> {
    Plain(W),
    Laz(Box<ParLasZipCompressor<W>>),
}

/// Point count, counts by return number (1–15) and integer bounds.
struct Stats {
    n: u64,
    by_return: [u64; 16],
    min: [i32; 3],
    max: [i32; 3],
    /// The mask of the return number in byte 14 (3 bits legacy, 4 bits extended formats).
    return_mask: u8,
}

impl<W: Write + Seek + Send + Sync> RecordWriter<W> {
    /// Writes the header (and VLRs) of `header`, statistics cleared, to `write`.
    pub(crate) fn new(mut write: W, mut header: las::Header, path: &Path) -> Result<Self> {
        let las_err = |e: las::Error| Error::las(path, e);
        let start = write.stream_position().map_err(|e| Error::io(path, e))?;
        header.clear();
        let compressed = header.point_format().is_compressed;
        if compressed {
            header.add_laz_vlr().map_err(las_err)?;
        }
        header.write_to(&mut write).map_err(las_err)?;
        let sink = if compressed {
            let vlr = header.laz_vlr().map_err(las_err)?;
            let c = ParLasZipCompressor::new(write, vlr).map_err(|e| Error::las(path, e))?;
            Sink::Laz(Box::new(c))
        } else {
            Sink::Plain(write)
        };
        let format = header.point_format();
        Ok(RecordWriter {
            record_len: usize::from(format.len()),
            stats: Stats {
                n: 0,
                by_return: [0; 16],
                min: [i32::MAX; 3],
                max: [i32::MIN; 3],
                return_mask: if format.is_extended { 15 } else { 7 },
            },
            header,
            sink,
            start,
            path: path.to_path_buf(),
        })
    }

    /// Appends whole records.
    pub(crate) fn write(&mut self, records: &[u8]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        debug_assert_eq!(records.len() % self.record_len, 0);
        let s = &mut self.stats;
        for rec in records.chunks_exact(self.record_len) {
            for (k, at) in [0, 4, 8].into_iter().enumerate() {
                let v = i32::from_le_bytes([rec[at], rec[at + 1], rec[at + 2], rec[at + 3]]);
                s.min[k] = s.min[k].min(v);
                s.max[k] = s.max[k].max(v);
            }
            s.by_return[usize::from(rec[14] & s.return_mask)] += 1;
        }
        s.n += (records.len() / self.record_len) as u64;
        match &mut self.sink {
            Sink::Plain(w) => w.write_all(records).map_err(|e| Error::io(&self.path, e)),
            Sink::Laz(c) => c
                .compress_many(records)
                .map_err(|e| Error::las(&self.path, e)),
        }
    }

    /// Finishes the stream (LAZ chunk table, point padding, EVLRs) and rewrites the header with
    /// the statistics; returns the stream.
    pub(crate) fn close(self) -> Result<W> {
        let path = self.path.clone();
        let las_err = |e: las::Error| Error::las(&path, e);
        let io_err = |e: std::io::Error| Error::io(&path, e);
        let mut w = match self.sink {
            Sink::Plain(w) => w,
            Sink::Laz(mut c) => {
                c.done().map_err(|e| Error::las(&path, e))?;
                c.into_inner()
            }
        };
        w.write_all(self.header.point_padding()).map_err(io_err)?;
        let start_of_first_evlr = w.stream_position().map_err(io_err)?;
        for evlr in self.header.evlrs() {
            evlr.clone()
                .into_raw(true)
                .and_then(|raw| raw.write_to(&mut w))
                .map_err(las_err)?;
        }
        let raw = raw_header(&self.header, &self.stats, start_of_first_evlr).map_err(las_err)?;
        w.seek(SeekFrom::Start(self.start)).map_err(io_err)?;
        raw.write_to(&mut w).map_err(las_err)?;
        w.seek(SeekFrom::Start(self.start)).map_err(io_err)?;
        Ok(w)
    }
}

/// The raw header of `header` (statistics cleared) with `stats`: the fields `las`'s
/// `Header::into_raw` fills from its own statistics, filled by the same rules.
fn raw_header(
    header: &las::Header,
    stats: &Stats,
    start_of_first_evlr: u64,
) -> las::Result<las::raw::Header> {
    let version = header.version();
    let large = version.supports::<LargeFiles>();
    let mut raw = header.clone().into_raw()?;
    raw.number_of_point_records = if stats.n > u64::from(u32::MAX) {
        if !large {
            return Err(las::Error::TooManyPoints {
                n: stats.n,
                version,
            });
        }
        0
    } else {
        stats.n as u32
    };
    let mut legacy = [0u32; 5];
    let mut by_return = [0u64; 15];
    for (r, &n) in stats.by_return.iter().enumerate().skip(1) {
        if n == 0 {
            continue;
        }
        if r > 5 {
            if !large {
                return Err(las::Error::ReturnNumber {
                    return_number: r as u8,
                    version: Some(version),
                });
            }
        } else if n > u64::from(u32::MAX) {
            if !large {
                return Err(las::Error::TooManyPoints { n, version });
            }
        } else {
            legacy[r - 1] = n as u32;
        }
        by_return[r - 1] = n;
    }
    raw.number_of_points_by_return = legacy;
    raw.large_file = Some(las::raw::header::LargeFile {
        number_of_point_records: stats.n,
        number_of_points_by_return: by_return,
    });
    if stats.n > 0 {
        let t = header.transforms();
        let span = |t: &las::Transform, lo: i32, hi: i32| {
            let (a, b) = (t.direct(lo), t.direct(hi));
            (a.min(b), a.max(b))
        };
        let (x0, x1) = span(&t.x, stats.min[0], stats.max[0]);
        let (y0, y1) = span(&t.y, stats.min[1], stats.max[1]);
        let (z0, z1) = span(&t.z, stats.min[2], stats.max[2]);
        let b = las::Bounds {
            min: las::Vector {
                x: x0,
                y: y0,
                z: z0,
            },
            max: las::Vector {
                x: x1,
                y: y1,
                z: z1,
            },
        }
        .adapt(t)?;
        (raw.min_x, raw.min_y, raw.min_z) = (b.min.x, b.min.y, b.min.z);
        (raw.max_x, raw.max_y, raw.max_z) = (b.max.x, b.max.y, b.max.z);
    }
    if let Some(e) = &mut raw.evlr {
        e.start_of_first_evlr = start_of_first_evlr;
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// `n` records of `format` with varied coordinates and return numbers (1..=7, so past 5 in
    /// LAS 1.4), as raw bytes.
    fn records(format: &las::point::Format, n: usize) -> Vec<u8> {
        let len = usize::from(format.len());
        let mut out = vec![0u8; len * n];
        for (i, rec) in out.chunks_exact_mut(len).enumerate() {
            let xyz = [
                (i as i32 * 7919) % 10_007 - 5000,
                (i as i32 * 104_729) % 99_991,
                -(i as i32 % 313),
            ];
            for (k, v) in xyz.iter().enumerate() {
                rec[4 * k..4 * k + 4].copy_from_slice(&v.to_le_bytes());
            }
            let r = (i % 7 + 1) as u8;
            rec[14] = if format.is_extended {
                r | (7 << 4)
            } else {
                r | (7 << 3)
            };
        }
        out
    }

    /// What `las::Writer` writes for the same header and records; `None` when it fails.
    fn reference(header: &las::Header, bytes: &[u8]) -> Option<Vec<u8>> {
        let mut w = las::Writer::new(Cursor::new(Vec::new()), header.clone()).ok()?;
        let slab = las::PointDataBuilder::new()
            .for_header(header)
            .build_from_bytes(bytes.to_vec())
            .ok()?;
        let closed = w.write_points(&slab).and_then(|()| w.close());
        if closed.is_err() {
            // It would close itself again on drop, and panic.
            std::mem::forget(w);
            return None;
        }
        Some(w.into_inner().ok()?.into_inner())
    }

    #[test]
    fn writes_what_the_las_writer_writes() {
        let evlr = las::Vlr {
            user_id: "landcarbon".into(),
            record_id: 7,
            description: "test".into(),
            data: vec![1, 2, 3],
        };
        let (mut cases, mut written) = (0, 0);
        for (version, format) in [((1, 2), 1u8), ((1, 2), 3), ((1, 4), 1), ((1, 4), 6)] {
            for compressed in [false, true] {
                for n in [0usize, 1, 5, 70_001] {
                    let mut f = las::point::Format::new(format).unwrap();
                    f.is_compressed = compressed;
                    let mut b = las::Builder::from(version);
                    b.point_format = f;
                    b.transforms.x = las::Transform {
                        scale: 0.01,
                        offset: 520_000.0,
                    };
                    b.transforms.z = las::Transform {
                        scale: -0.001,
                        offset: 100.0,
                    };
                    if version == (1, 4) {
                        b.evlrs.push(evlr.clone());
                    }
                    let header = b.into_header().unwrap();
                    let bytes = records(header.point_format(), n);
                    // Return numbers above 5 are an error before LAS 1.4, for both.
                    let expect = reference(&header, &bytes);
                    written += expect.is_some() as usize;
                    let ours = (|| -> Result<Vec<u8>> {
                        let mut w = RecordWriter::new(
                            Cursor::new(Vec::new()),
                            header.clone(),
                            Path::new("t.las"),
                        )?;
                        // In uneven pieces, as the split writes its batches.
                        for piece in bytes.chunks(usize::from(f.len()) * 997) {
                            w.write(piece)?;
                        }
                        Ok(w.close()?.into_inner())
                    })();
                    assert_eq!(
                        ours.ok(),
                        expect,
                        "{version:?} format {format} compressed {compressed} n {n}"
                    );
                    cases += 1;
                }
            }
        }
        // Failing: the 70,001-point files before LAS 1.4 (return numbers 6 and 7).
        assert_eq!((cases, written), (32, 28));
    }
}
