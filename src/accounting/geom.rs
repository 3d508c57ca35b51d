//! Plain polygon types for the accounting code: [`MultiPolygon`] (polygons with holes, rings
//! stored open, in projected metres), planar areas, bounding boxes and a WKB encoder/decoder so
//! that geometry crosses the GDAL boundary (src/vector/) as bytes.
//!
//! Areas use the shoelace formula on coordinates shifted to the ring's first vertex, so that
//! projected coordinates in the millions (Gauss–Krüger northings ≈ 3.4e6 m) keep sub-mm² precision.
//!
//! WKB: reads ISO and old-OGC (0x80000000 Z flag) little- and big-endian Polygon, MultiPolygon
//! and GeometryCollection (points and lines inside a collection are skipped: they carry no area);
//! curved geometries are refused with an error. Writes little-endian 2-D MultiPolygon.
//!
//! See also: `zonal.rs` (exact cell coverage), `overlay.rs`, `map.rs`.

use crate::{Error, Result};

/// A point `[x, y]` in projected metres.
pub type Pt = [f64; 2];

/// An axis-aligned bounding box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub xmin: f64,
    pub ymin: f64,
    pub xmax: f64,
    pub ymax: f64,
}

impl Bbox {
    /// The empty box (inverted infinities), neutral for [`Bbox::union`].
    pub const EMPTY: Bbox = Bbox {
        xmin: f64::INFINITY,
        ymin: f64::INFINITY,
        xmax: f64::NEG_INFINITY,
        ymax: f64::NEG_INFINITY,
    };

    /// `true` when the box contains no point.
    pub fn is_empty(&self) -> bool {
        !(self.xmin <= self.xmax && self.ymin <= self.ymax)
    }

    /// `true` when the closed boxes share a point.
    pub fn intersects(&self, o: &Bbox) -> bool {
        self.xmin <= o.xmax && o.xmin <= self.xmax && self.ymin <= o.ymax && o.ymin <= self.ymax
    }

    /// The smallest box containing both.
    pub fn union(&self, o: &Bbox) -> Bbox {
        Bbox {
            xmin: self.xmin.min(o.xmin),
            ymin: self.ymin.min(o.ymin),
            xmax: self.xmax.max(o.xmax),
            ymax: self.ymax.max(o.ymax),
        }
    }

    /// Extends the box to contain `p`.
    pub fn add(&mut self, p: Pt) {
        self.xmin = self.xmin.min(p[0]);
        self.ymin = self.ymin.min(p[1]);
        self.xmax = self.xmax.max(p[0]);
        self.ymax = self.ymax.max(p[1]);
    }

    /// Width (x extent).
    pub fn width(&self) -> f64 {
        self.xmax - self.xmin
    }

    /// Height (y extent).
    pub fn height(&self) -> f64 {
        self.ymax - self.ymin
    }
}

/// Signed area of an open ring (positive when counter-clockwise in x-east, y-north axes).
pub fn ring_signed_area(r: &[Pt]) -> f64 {
    if r.len() < 3 {
        return 0.0;
    }
    let [ox, oy] = r[0];
    let mut s = 0.0;
    for i in 0..r.len() {
        let a = r[i];
        let b = r[(i + 1) % r.len()];
        s += (a[0] - ox) * (b[1] - oy) - (b[0] - ox) * (a[1] - oy);
    }
    0.5 * s
}

/// One polygon: an exterior ring and holes, each ring open (first vertex not repeated).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Polygon {
    pub exterior: Vec<Pt>,
    pub holes: Vec<Vec<Pt>>,
}

impl Polygon {
    /// A rectangle.
    pub fn rect(xmin: f64, ymin: f64, xmax: f64, ymax: f64) -> Polygon {
        Polygon {
            exterior: vec![[xmin, ymin], [xmax, ymin], [xmax, ymax], [xmin, ymax]],
            holes: vec![],
        }
    }

    /// Planar area: |exterior| − Σ|holes| (m²).
    pub fn area(&self) -> f64 {
        ring_signed_area(&self.exterior).abs()
            - self
                .holes
                .iter()
                .map(|h| ring_signed_area(h).abs())
                .sum::<f64>()
    }

    /// All rings, exterior first.
    pub fn rings(&self) -> impl Iterator<Item = &Vec<Pt>> {
        std::iter::once(&self.exterior).chain(self.holes.iter())
    }
}

/// A set of non-overlapping polygons (a valid OGC MultiPolygon).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MultiPolygon {
    pub polygons: Vec<Polygon>,
}

impl MultiPolygon {
    /// A multipolygon of one polygon.
    pub fn single(p: Polygon) -> MultiPolygon {
        MultiPolygon { polygons: vec![p] }
    }

    /// Planar area (m²).
    pub fn area(&self) -> f64 {
        self.polygons.iter().map(Polygon::area).sum()
    }

    /// `true` without any polygon.
    pub fn is_empty(&self) -> bool {
        self.polygons.iter().all(|p| p.exterior.len() < 3)
    }

    /// Bounding box ([`Bbox::EMPTY`] when empty).
    pub fn bbox(&self) -> Bbox {
        let mut b = Bbox::EMPTY;
        for p in &self.polygons {
            for &v in &p.exterior {
                b.add(v);
            }
        }
        b
    }

    /// Number of vertices over all rings.
    pub fn n_vertices(&self) -> usize {
        self.polygons
            .iter()
            .flat_map(|p| p.rings())
            .map(|r| r.len())
            .sum()
    }

    /// A point inside the largest polygon's bounding box centre line: the midpoint of the
    /// widest horizontal interior span at the box's mid-height (used to place labels and to
    /// report where a record lies). Falls back to the box centre.
    pub fn interior_point(&self) -> Pt {
        let Some(p) = self
            .polygons
            .iter()
            .max_by(|a, b| a.area().total_cmp(&b.area()))
        else {
            return [f64::NAN, f64::NAN];
        };
        let b = MultiPolygon::single(p.clone()).bbox();
        let y = 0.5 * (b.ymin + b.ymax);
        let mut xs: Vec<f64> = Vec::new();
        for r in p.rings() {
            for i in 0..r.len() {
                let a = r[i];
                let c = r[(i + 1) % r.len()];
                if (a[1] <= y) != (c[1] <= y) {
                    xs.push(a[0] + (y - a[1]) / (c[1] - a[1]) * (c[0] - a[0]));
                }
            }
        }
        xs.sort_by(f64::total_cmp);
        let mut best = None::<(f64, f64)>;
        for w in xs.chunks(2) {
            if let [x0, x1] = w {
                if best.is_none_or(|(a, b)| x1 - x0 > b - a) {
                    best = Some((*x0, *x1));
                }
            }
        }
        match best {
            Some((x0, x1)) => [0.5 * (x0 + x1), y],
            None => [0.5 * (b.xmin + b.xmax), y],
        }
    }

    /// Little-endian 2-D WKB MultiPolygon (rings closed as WKB requires).
    pub fn to_wkb(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(9 + self.n_vertices() * 16 + 64);
        out.push(1u8);
        out.extend_from_slice(&6u32.to_le_bytes());
        out.extend_from_slice(&(self.polygons.len() as u32).to_le_bytes());
        for p in &self.polygons {
            out.push(1u8);
            out.extend_from_slice(&3u32.to_le_bytes());
            out.extend_from_slice(&((1 + p.holes.len()) as u32).to_le_bytes());
            for r in p.rings() {
                out.extend_from_slice(&((r.len() + 1) as u32).to_le_bytes());
                for v in r.iter().chain(r.first()) {
                    out.extend_from_slice(&v[0].to_le_bytes());
                    out.extend_from_slice(&v[1].to_le_bytes());
                }
            }
        }
        out
    }

    /// Parses WKB, keeping every polygon found (see the module doc).
    pub fn from_wkb(bytes: &[u8]) -> Result<MultiPolygon> {
        let mut r = WkbReader { b: bytes, pos: 0 };
        let mut out = MultiPolygon::default();
        r.geometry(&mut out, 0)?;
        Ok(out)
    }
}

struct WkbReader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl WkbReader<'_> {
    fn err(&self, what: &str) -> Error {
        Error::data("WKB geometry", format!("{what} at byte {}", self.pos))
    }

    fn u8(&mut self) -> Result<u8> {
        let v = *self.b.get(self.pos).ok_or_else(|| self.err("truncated"))?;
        self.pos += 1;
        Ok(v)
    }

    fn u32(&mut self, le: bool) -> Result<u32> {
        let s = self
            .b
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("truncated"))?;
        self.pos += 4;
        let a: [u8; 4] = s.try_into().expect("4 bytes");
        Ok(if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    }

    fn f64(&mut self, le: bool) -> Result<f64> {
        let s = self
            .b
            .get(self.pos..self.pos + 8)
            .ok_or_else(|| self.err("truncated"))?;
        self.pos += 8;
        let a: [u8; 8] = s.try_into().expect("8 bytes");
        Ok(if le {
            f64::from_le_bytes(a)
        } else {
            f64::from_be_bytes(a)
        })
    }

    /// Reads one geometry; polygons are appended to `out`.
    fn geometry(&mut self, out: &mut MultiPolygon, depth: usize) -> Result<()> {
        if depth > 32 {
            return Err(self.err("nesting too deep"));
        }
        let le = self.u8()? == 1;
        let raw = self.u32(le)?;
        // Old OGC flags (Z 0x80000000, M 0x40000000) or ISO thousands (1000 Z, 2000 M, 3000 ZM).
        let mut dims = 2;
        if raw & 0x8000_0000 != 0 {
            dims += 1;
        }
        if raw & 0x4000_0000 != 0 {
            dims += 1;
        }
        let t = raw & 0x0FFF_FFFF;
        let (base, iso) = (t % 1000, t / 1000);
        dims += match iso {
            1 | 2 => 1,
            3 => 2,
            _ => 0,
        };
        match base {
            1 => {
                for _ in 0..dims {
                    self.f64(le)?;
                }
            }
            2 => {
                let n = self.u32(le)? as usize;
                for _ in 0..n * dims {
                    self.f64(le)?;
                }
            }
            3 => {
                let p = self.polygon(le, dims)?;
                if p.exterior.len() >= 3 {
                    out.polygons.push(p);
                }
            }
            4..=7 => {
                let n = self.u32(le)?;
                for _ in 0..n {
                    self.geometry(out, depth + 1)?;
                }
            }
            8..=12 | 17 => {
                return Err(self.err(
                    "curved geometry (circular string / curve polygon / multisurface): linearize it first (ogr2ogr -nlt CONVERT_TO_LINEAR)",
                ))
            }
            other => return Err(self.err(&format!("unsupported WKB geometry type {other}"))),
        }
        Ok(())
    }

    fn polygon(&mut self, le: bool, dims: usize) -> Result<Polygon> {
        let nrings = self.u32(le)? as usize;
        let mut p = Polygon::default();
        for k in 0..nrings {
            let n = self.u32(le)? as usize;
            if n > self.b.len() {
                return Err(self.err("ring length exceeds the buffer"));
            }
            let mut ring = Vec::with_capacity(n);
            for _ in 0..n {
                let x = self.f64(le)?;
                let y = self.f64(le)?;
                for _ in 2..dims {
                    self.f64(le)?;
                }
                ring.push([x, y]);
            }
            if ring.len() > 1 && ring.first() == ring.last() {
                ring.pop();
            }
            if k == 0 {
                p.exterior = ring;
            } else if ring.len() >= 3 {
                p.holes.push(ring);
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_with_hole_and_far_coordinates() {
        let (x0, y0) = (512_345.678, 3_412_345.678);
        let mut p = Polygon::rect(x0, y0, x0 + 100.0, y0 + 50.0);
        p.holes.push(vec![
            [x0 + 10.0, y0 + 10.0],
            [x0 + 10.0, y0 + 20.0],
            [x0 + 30.0, y0 + 20.0],
            [x0 + 30.0, y0 + 10.0],
        ]);
        assert!((p.area() - (5000.0 - 200.0)).abs() < 1e-6, "{}", p.area());
    }

    #[test]
    fn wkb_round_trip() {
        let mut p = Polygon::rect(0.0, 0.0, 10.0, 10.0);
        p.holes.push(vec![[2.0, 2.0], [2.0, 3.0], [3.0, 3.0]]);
        let m = MultiPolygon {
            polygons: vec![p, Polygon::rect(20.0, 0.0, 21.0, 1.0)],
        };
        let back = MultiPolygon::from_wkb(&m.to_wkb()).unwrap();
        assert_eq!(back, m);
        assert!((back.area() - (100.0 - 0.5 + 1.0)).abs() < 1e-12);
    }

    #[test]
    fn wkb_truncated_is_an_error() {
        let m = MultiPolygon::single(Polygon::rect(0.0, 0.0, 1.0, 1.0));
        let b = m.to_wkb();
        assert!(MultiPolygon::from_wkb(&b[..b.len() - 3]).is_err());
    }

    #[test]
    fn interior_point_lies_inside_a_u_shape() {
        // U shape: the bbox centre (5, 5) is in the notch, outside the polygon.
        let u = Polygon {
            exterior: vec![
                [0.0, 0.0],
                [10.0, 0.0],
                [10.0, 10.0],
                [7.0, 10.0],
                [7.0, 3.0],
                [3.0, 3.0],
                [3.0, 10.0],
                [0.0, 10.0],
            ],
            holes: vec![],
        };
        let p = MultiPolygon::single(u).interior_point();
        assert!(!(p[0] > 3.0 && p[0] < 7.0), "{p:?} in the notch");
    }
}
