//! LAS "extra bytes": per-point bytes after the standard fields, described by LASF_Spec
//! record 4 VLRs (192-byte descriptors). Kept verbatim so a round trip loses nothing; named
//! dimensions can be read as `f64` and new ones added (e.g. `HeightAboveGround`).

use super::meta::LasMeta;

const DESCRIPTOR_LEN: usize = 192;
const EXTRA_BYTES_USER: &str = "LASF_Spec";
const EXTRA_BYTES_RECORD: u16 = 4;

/// Storage type of an extra-bytes dimension (LAS 1.4 R15 table 24, types 1–10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtraType {
    /// Undocumented bytes (type 0); the count is in the descriptor's options byte.
    Bytes(u8),
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
}

impl ExtraType {
    fn from_code(code: u8, options: u8) -> Option<ExtraType> {
        Some(match code {
            0 => ExtraType::Bytes(options),
            1 => ExtraType::U8,
            2 => ExtraType::I8,
            3 => ExtraType::U16,
            4 => ExtraType::I16,
            5 => ExtraType::U32,
            6 => ExtraType::I32,
            7 => ExtraType::U64,
            8 => ExtraType::I64,
            9 => ExtraType::F32,
            10 => ExtraType::F64,
            _ => return None,
        })
    }

    fn code(self) -> u8 {
        match self {
            ExtraType::Bytes(_) => 0,
            ExtraType::U8 => 1,
            ExtraType::I8 => 2,
            ExtraType::U16 => 3,
            ExtraType::I16 => 4,
            ExtraType::U32 => 5,
            ExtraType::I32 => 6,
            ExtraType::U64 => 7,
            ExtraType::I64 => 8,
            ExtraType::F32 => 9,
            ExtraType::F64 => 10,
        }
    }

    /// Bytes per point.
    pub fn size(self) -> usize {
        match self {
            ExtraType::Bytes(n) => n as usize,
            ExtraType::U8 | ExtraType::I8 => 1,
            ExtraType::U16 | ExtraType::I16 => 2,
            ExtraType::U32 | ExtraType::I32 | ExtraType::F32 => 4,
            ExtraType::U64 | ExtraType::I64 | ExtraType::F64 => 8,
        }
    }
}

/// One described extra-bytes dimension.
#[derive(Debug, Clone)]
pub struct ExtraDim {
    pub name: String,
    pub kind: ExtraType,
    /// Byte offset within a point's extra bytes.
    pub offset: usize,
    pub scale: Option<f64>,
    pub value_offset: Option<f64>,
    /// The descriptor exactly as stored (or as built for a new dimension).
    pub descriptor: Vec<u8>,
}

/// The extra bytes of all points (`record_len` bytes each, contiguous) and their descriptors.
#[derive(Debug, Clone, Default)]
pub struct ExtraBytes {
    /// Extra bytes per point (the point format's `extra_bytes`).
    pub record_len: usize,
    /// `record_len * n` bytes.
    pub data: Vec<u8>,
    /// Described dimensions, in descriptor order.
    pub dims: Vec<ExtraDim>,
    /// How many of `dims` are described by the source file's VLRs (the rest were added).
    pub described_in_source: usize,
}

impl ExtraBytes {
    /// Layout from a header: record length and all descriptors of every extra-bytes (E)VLR.
    pub fn from_meta(meta: &LasMeta) -> ExtraBytes {
        let record_len = meta.format.extra_bytes as usize;
        let mut dims = Vec::new();
        let mut offset = 0usize;
        for vlr in meta.header.all_vlrs().filter(|v| is_extra_bytes_vlr(v)) {
            for d in vlr.data.chunks_exact(DESCRIPTOR_LEN) {
                let Some(kind) = ExtraType::from_code(d[2], d[3]) else {
                    // Deprecated array types: we cannot name their parts; stop describing
                    // here, the bytes themselves are still kept.
                    break;
                };
                let name = String::from_utf8_lossy(&d[4..36])
                    .trim_end_matches('\0')
                    .to_string();
                let options = d[3];
                let f = |o: usize| f64::from_le_bytes(d[o..o + 8].try_into().expect("8 bytes"));
                let size = kind.size();
                if offset + size <= record_len {
                    dims.push(ExtraDim {
                        name,
                        kind,
                        offset,
                        scale: (options & 0x08 != 0).then(|| f(112)),
                        value_offset: (options & 0x10 != 0).then(|| f(136)),
                        descriptor: d.to_vec(),
                    });
                }
                offset += size;
            }
        }
        let described_in_source = dims.len();
        ExtraBytes {
            record_len,
            data: Vec::new(),
            dims,
            described_in_source,
        }
    }

    /// Index of the dimension called `name` (ASCII case-insensitive).
    pub fn find(&self, name: &str) -> Option<usize> {
        self.dims
            .iter()
            .position(|d| d.name.eq_ignore_ascii_case(name))
    }

    /// Values of dimension `name` for every point, scale and offset applied.
    pub fn get_f64(&self, name: &str) -> Option<Vec<f64>> {
        let d = &self.dims[self.find(name)?];
        if self.record_len == 0 {
            return Some(Vec::new());
        }
        let scale = d.scale.unwrap_or(1.0);
        let off = d.value_offset.unwrap_or(0.0);
        Some(
            self.data
                .chunks_exact(self.record_len)
                .map(|r| raw_value(d.kind, &r[d.offset..d.offset + d.kind.size()]) * scale + off)
                .collect(),
        )
    }

    /// Values of dimension `name` as unsigned integers, exactly for every integer type (a
    /// 64-bit ID does not survive a trip through `f64`); `None` when there is no such
    /// dimension or it is not a non-negative integer without scale or offset.
    pub fn get_u64(&self, name: &str) -> Option<Vec<u64>> {
        let d = &self.dims[self.find(name)?];
        if d.scale.is_some() || d.value_offset.is_some() {
            return None;
        }
        let l = self.record_len;
        let v = |r: &[u8]| -> Option<u64> {
            let b = &r[d.offset..d.offset + d.kind.size()];
            match d.kind {
                ExtraType::U8 => Some(b[0] as u64),
                ExtraType::U16 => Some(u16::from_le_bytes([b[0], b[1]]) as u64),
                ExtraType::U32 => Some(u32::from_le_bytes(b.try_into().ok()?) as u64),
                ExtraType::U64 => Some(u64::from_le_bytes(b.try_into().ok()?)),
                ExtraType::I8 | ExtraType::I16 | ExtraType::I32 | ExtraType::I64 => {
                    u64::try_from(raw_value(d.kind, b) as i64).ok()
                }
                _ => None,
            }
        };
        if l == 0 {
            return Some(Vec::new());
        }
        self.data.chunks_exact(l).map(v).collect()
    }

    /// Sets dimension `name` to the integers `values` (one per point), adding it as a new
    /// unsigned 64-bit dimension (LAS extra-bytes data type 7) when absent; an existing
    /// dimension keeps its type. Existing extra bytes must have `values.len()` points.
    pub fn set_u64(&mut self, name: &str, values: &[u64], description: &str) {
        let idx = self.dim_or_add(name, ExtraType::U64, values.len(), description);
        let d = self.dims[idx].clone();
        if d.kind != ExtraType::U64 || d.scale.is_some() || d.value_offset.is_some() {
            let v: Vec<f64> = values.iter().map(|&v| v as f64).collect();
            return self.set_f64(name, &v, description);
        }
        for (rec, &v) in self.data.chunks_exact_mut(self.record_len).zip(values) {
            rec[d.offset..d.offset + 8].copy_from_slice(&v.to_le_bytes());
        }
    }

    /// Index of dimension `name`, added as a new `kind` dimension (zeros) for `n` points when
    /// absent.
    fn dim_or_add(&mut self, name: &str, kind: ExtraType, n: usize, description: &str) -> usize {
        if let Some(i) = self.find(name) {
            return i;
        }
        let old = self.record_len;
        let new_len = old + kind.size();
        let mut data = vec![0u8; new_len * n];
        if old > 0 {
            for (dst, src) in data
                .chunks_exact_mut(new_len)
                .zip(self.data.chunks_exact(old))
            {
                dst[..old].copy_from_slice(src);
            }
        }
        self.data = data;
        self.record_len = new_len;
        self.dims.push(ExtraDim {
            name: name.to_string(),
            kind,
            offset: old,
            scale: None,
            value_offset: None,
            descriptor: descriptor(name, kind, description),
        });
        self.dims.len() - 1
    }

    /// Sets dimension `name` to `values` (one per point), adding it as a new `f64` dimension when
    /// absent. The number of points is `values.len()`; existing extra bytes must match it.
    pub fn set_f64(&mut self, name: &str, values: &[f64], description: &str) {
        let idx = self.dim_or_add(name, ExtraType::F64, values.len(), description);
        let d = self.dims[idx].clone();
        let scale = d.scale.unwrap_or(1.0);
        let off = d.value_offset.unwrap_or(0.0);
        for (rec, &v) in self.data.chunks_exact_mut(self.record_len).zip(values) {
            write_value(
                d.kind,
                &mut rec[d.offset..d.offset + d.kind.size()],
                (v - off) / scale,
            );
        }
    }

    /// The extra-bytes VLR payloads to write: the source's VLRs unchanged when no dimension was
    /// added, otherwise every descriptor in one VLR.
    pub fn descriptors_if_changed(&self) -> Option<Vec<u8>> {
        if self.dims.len() == self.described_in_source {
            return None;
        }
        Some(
            self.dims
                .iter()
                .flat_map(|d| d.descriptor.clone())
                .collect(),
        )
    }

    pub(crate) fn retain_mask(&mut self, keep: &[bool]) {
        let l = self.record_len;
        if l == 0 {
            return;
        }
        let mut j = 0;
        for (i, &k) in keep.iter().enumerate() {
            if k {
                if i != j {
                    self.data.copy_within(i * l..(i + 1) * l, j * l);
                }
                j += 1;
            }
        }
        self.data.truncate(j * l);
    }

    pub(crate) fn select(&self, indices: &[usize]) -> ExtraBytes {
        let l = self.record_len;
        let mut data = Vec::with_capacity(indices.len() * l);
        if l > 0 {
            for &i in indices {
                data.extend_from_slice(&self.data[i * l..(i + 1) * l]);
            }
        }
        ExtraBytes {
            data,
            ..self.clone_layout()
        }
    }

    fn clone_layout(&self) -> ExtraBytes {
        ExtraBytes {
            record_len: self.record_len,
            data: Vec::new(),
            dims: self.dims.clone(),
            described_in_source: self.described_in_source,
        }
    }
}

/// `true` for a LASF_Spec record-4 (E)VLR.
pub fn is_extra_bytes_vlr(v: &las::Vlr) -> bool {
    v.user_id.trim_end_matches('\0') == EXTRA_BYTES_USER && v.record_id == EXTRA_BYTES_RECORD
}

fn descriptor(name: &str, kind: ExtraType, description: &str) -> Vec<u8> {
    let mut d = vec![0u8; DESCRIPTOR_LEN];
    d[2] = kind.code();
    let n = name.as_bytes();
    d[4..4 + n.len().min(32)].copy_from_slice(&n[..n.len().min(32)]);
    let t = description.as_bytes();
    d[160..160 + t.len().min(32)].copy_from_slice(&t[..t.len().min(32)]);
    d
}

fn raw_value(kind: ExtraType, b: &[u8]) -> f64 {
    match kind {
        ExtraType::Bytes(_) => f64::NAN,
        ExtraType::U8 => b[0] as f64,
        ExtraType::I8 => b[0] as i8 as f64,
        ExtraType::U16 => u16::from_le_bytes([b[0], b[1]]) as f64,
        ExtraType::I16 => i16::from_le_bytes([b[0], b[1]]) as f64,
        ExtraType::U32 => u32::from_le_bytes(b.try_into().expect("4 bytes")) as f64,
        ExtraType::I32 => i32::from_le_bytes(b.try_into().expect("4 bytes")) as f64,
        ExtraType::U64 => u64::from_le_bytes(b.try_into().expect("8 bytes")) as f64,
        ExtraType::I64 => i64::from_le_bytes(b.try_into().expect("8 bytes")) as f64,
        ExtraType::F32 => f32::from_le_bytes(b.try_into().expect("4 bytes")) as f64,
        ExtraType::F64 => f64::from_le_bytes(b.try_into().expect("8 bytes")),
    }
}

fn write_value(kind: ExtraType, b: &mut [u8], v: f64) {
    match kind {
        ExtraType::Bytes(_) => {}
        ExtraType::U8 => b[0] = v.round() as u8,
        ExtraType::I8 => b[0] = v.round() as i8 as u8,
        ExtraType::U16 => b.copy_from_slice(&(v.round() as u16).to_le_bytes()),
        ExtraType::I16 => b.copy_from_slice(&(v.round() as i16).to_le_bytes()),
        ExtraType::U32 => b.copy_from_slice(&(v.round() as u32).to_le_bytes()),
        ExtraType::I32 => b.copy_from_slice(&(v.round() as i32).to_le_bytes()),
        ExtraType::U64 => b.copy_from_slice(&(v.round() as u64).to_le_bytes()),
        ExtraType::I64 => b.copy_from_slice(&(v.round() as i64).to_le_bytes()),
        ExtraType::F32 => b.copy_from_slice(&(v as f32).to_le_bytes()),
        ExtraType::F64 => b.copy_from_slice(&v.to_le_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn u64_dimensions_keep_every_bit() {
        let mut e = ExtraBytes::default();
        e.set_f64("h", &[1.5, 2.5, 3.5], "height");
        // Above 2^53, where an f64 would round.
        let ids = [0u64, (1 << 60) + 1, u64::MAX];
        e.set_u64("treeID", &ids, "tree ID");
        let d = &e.dims[e.find("treeID").unwrap()];
        assert_eq!(
            (d.kind, d.descriptor[2], e.record_len),
            (ExtraType::U64, 7, 16)
        );
        assert_eq!(e.get_u64("treeID").unwrap(), ids);
        assert_eq!(e.get_f64("h").unwrap(), [1.5, 2.5, 3.5]);
        // Not an integer dimension.
        assert_eq!(e.get_u64("h"), None);
    }
}
