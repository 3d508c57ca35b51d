//! Byte layout of LAS point records (LAS 1.4 R15 §2.6–2.16), used to decode and encode whole
//! slabs of records column by column without building a `las::Point` per point.

use las::point::Format;

/// Offsets of the optional fields of one point record; `None` when the format lacks the field.
#[derive(Debug, Clone, Copy)]
pub struct RecordLayout {
    pub extended: bool,
    pub len: usize,
    pub gps: Option<usize>,
    pub rgb: Option<usize>,
    pub nir: Option<usize>,
    pub waveform: Option<usize>,
    pub extra: usize,
}

impl RecordLayout {
    /// Layout of `format`.
    pub fn of(format: &Format) -> RecordLayout {
        let mut at = if format.is_extended { 30 } else { 20 };
        let gps = if format.is_extended {
            Some(22)
        } else if format.has_gps_time {
            at += 8;
            Some(20)
        } else {
            None
        };
        let rgb = format.has_color.then(|| {
            at += 6;
            at - 6
        });
        let nir = format.has_nir.then(|| {
            at += 2;
            at - 2
        });
        let waveform = format.has_waveform.then(|| {
            at += 29;
            at - 29
        });
        let extra = at;
        RecordLayout {
            extended: format.is_extended,
            len: at + format.extra_bytes as usize,
            gps,
            rgb,
            nir,
            waveform,
            extra,
        }
    }
}

#[inline]
pub(crate) fn rd_i32(b: &[u8], o: usize) -> i32 {
    i32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}

#[inline]
pub(crate) fn rd_u16(b: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([b[o], b[o + 1]])
}

#[inline]
pub(crate) fn rd_f64(b: &[u8], o: usize) -> f64 {
    f64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lengths_match_the_specification() {
        let expected = [20, 28, 26, 34, 57, 63, 30, 36, 38, 59, 67];
        for (id, len) in expected.iter().enumerate() {
            let f = Format::new(id as u8).unwrap();
            assert_eq!(RecordLayout::of(&f).len, *len, "format {id}");
            assert_eq!(f.len() as usize, *len, "las agrees for format {id}");
        }
    }
}
