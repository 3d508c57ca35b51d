//! Every EVLR of a LAS 1.4 file. The `las` reader (0.11) keeps only the first EVLR, so a COPC
//! file (hierarchy EVLR first, CRS after it) or any 1.4 file with several EVLRs would lose its
//! CRS and its other records; they are read here from the raw file instead.

use crate::{Error, Result};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Reads the `count` EVLRs starting at byte `start` of `path`. Each must lie inside the file
/// (an error naming the file otherwise), so no payload length is trusted before it is checked.
pub(crate) fn read_evlrs(path: &Path, start: u64, count: u32) -> Result<Vec<las::Vlr>> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut out = Vec::new();
    let mut at = start;
    for i in 0..count {
        let mut h = [0u8; 60];
        if at.checked_add(60).is_none_or(|end| end > file_len) {
            return Err(Error::las(
                path,
                format!("EVLR {i} of the {count} the header announces starts at byte {at}, past the end of the file ({file_len} bytes): truncated or corrupt file"),
            ));
        }
        f.seek(SeekFrom::Start(at))
            .and_then(|_| f.read_exact(&mut h))
            .map_err(|e| Error::io(path, e))?;
        let len = u64::from_le_bytes(h[20..28].try_into().expect("8 bytes"));
        let end = (at + 60)
            .checked_add(len)
            .filter(|&e| e <= file_len)
            .ok_or_else(|| {
                Error::las(
                    path,
                    format!("EVLR {i} at byte {at} announces {len} bytes of data, past the end of the file ({file_len} bytes): truncated or corrupt file"),
                )
            })?;
        let mut data = vec![0u8; len as usize];
        f.read_exact(&mut data).map_err(|e| Error::io(path, e))?;
        let text = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .trim_end_matches('\0')
                .to_string()
        };
        out.push(las::Vlr {
            user_id: text(&h[2..18]),
            record_id: u16::from_le_bytes([h[18], h[19]]),
            description: text(&h[28..60]),
            data,
        });
        at = end;
    }
    Ok(out)
}

/// `header` with every EVLR of `path` (LAS 1.4 with more than one EVLR); unchanged otherwise.
pub(crate) fn with_all_evlrs(header: las::Header, path: &Path) -> Result<las::Header> {
    if header.version() < las::Version::new(1, 4) {
        return Ok(header);
    }
    let mut raw = [0u8; 247];
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    f.read_exact(&mut raw).map_err(|e| Error::io(path, e))?;
    let start = u64::from_le_bytes(raw[235..243].try_into().expect("8 bytes"));
    let count = u32::from_le_bytes(raw[243..247].try_into().expect("4 bytes"));
    if start == 0 || count as usize <= header.evlrs().len() {
        return Ok(header);
    }
    let evlrs = read_evlrs(path, start, count)?;
    let mut b = las::Builder::from(header);
    b.evlrs = evlrs;
    b.into_header().map_err(|e| {
        Error::las(
            path,
            format!("cannot rebuild the header with its EVLRs: {e}"),
        )
    })
}
