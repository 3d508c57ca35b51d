//! Coordinate reference systems as LAS files store them: an OGC WKT record (LAS 1.4, or any file
//! whose global encoding says WKT) or GeoTIFF keys (LASF_Projection 34735–34737), each in a VLR
//! or an EVLR (COPC files put the WKT in an EVLR; the reader loads every EVLR).
//!
//! The crate does not reproject. It reads the CRS to report it, to write it into rasters and
//! vectors, and to refuse mixing tiles of different CRS in one run.

use crate::{Error, Result};
use std::path::Path;

/// A coordinate reference system: an EPSG code where one can be found, and the WKT text where
/// the file has one.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Crs {
    /// EPSG code of the (horizontal) CRS.
    pub epsg: Option<u32>,
    /// WKT text as stored in the file.
    pub wkt: Option<String>,
}

impl Crs {
    /// A CRS known by its EPSG code.
    pub fn from_epsg(code: u32) -> Self {
        Crs {
            epsg: Some(code),
            wkt: None,
        }
    }

    /// `true` when the file said nothing about its CRS.
    pub fn is_unknown(&self) -> bool {
        self.epsg.is_none() && self.wkt.is_none()
    }

    /// Reads the CRS from a header's VLRs and EVLRs: WKT first, then GeoTIFF keys.
    ///
    /// A WKT VLR that is not text, or GeoTIFF keys that cannot be decoded, give an error naming
    /// `path`; a header with no CRS VLR gives [`Crs::default`] (unknown).
    pub fn from_header(header: &las::Header, path: &Path) -> Result<Crs> {
        if let Some(bytes) = header.get_wkt_crs_bytes() {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| Error::las(path, "unreadable CRS: the WKT VLR is not valid text"))?
                .trim_end_matches('\0')
                .trim()
                .to_string();
            if !text.is_empty() {
                let epsg = epsg_from_wkt(&text);
                return Ok(Crs {
                    epsg,
                    wkt: Some(text),
                });
            }
        }
        match header.get_geotiff_crs() {
            Ok(Some(gt)) => {
                let code = gt
                    .get_projected_crs_geo_key_value()
                    .filter(|c| (1024..=32766).contains(c))
                    .or_else(|| {
                        gt.get_geodetic_crs_geo_key_value()
                            .filter(|c| (1024..=32766).contains(c))
                    });
                Ok(Crs {
                    epsg: code.map(u32::from),
                    wkt: None,
                })
            }
            Ok(None) => Ok(Crs::default()),
            Err(e) => Err(Error::las(
                path,
                format!("unreadable CRS: GeoTIFF keys: {e}"),
            )),
        }
    }

    /// `true` when both describe the same CRS: equal EPSG codes where both have one, otherwise
    /// equal WKT text. Two unknown CRS are the same.
    pub fn same_as(&self, other: &Crs) -> bool {
        match (self.epsg, other.epsg) {
            (Some(a), Some(b)) => a == b,
            _ => self.wkt == other.wkt && self.epsg == other.epsg,
        }
    }

    /// A short human description: `EPSG:2154`, the WKT's name, or `unknown`.
    pub fn describe(&self) -> String {
        if let Some(c) = self.epsg {
            return format!("EPSG:{c}");
        }
        if let Some(w) = &self.wkt {
            let name = w
                .split('"')
                .nth(1)
                .map(str::to_string)
                .unwrap_or_else(|| w.chars().take(40).collect());
            return format!("WKT \"{name}\" (no EPSG code)");
        }
        "unknown".to_string()
    }

    /// The text GDAL should receive to set this CRS: `EPSG:n` or the WKT.
    pub fn gdal_definition(&self) -> Option<String> {
        if let Some(c) = self.epsg {
            Some(format!("EPSG:{c}"))
        } else {
            self.wkt.clone()
        }
    }
}

/// The EPSG code of the outermost CRS of a WKT1 or WKT2 string: the last top-level
/// `AUTHORITY["EPSG","n"]` (WKT1) or `ID["EPSG",n]` (WKT2).
pub fn epsg_from_wkt(wkt: &str) -> Option<u32> {
    // The outermost object's authority closes it, so it sits at bracket depth 1.
    let bytes = wkt.as_bytes();
    let mut depth = 0i32;
    let mut found = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'[' | b'(' => depth += 1,
            b']' | b')' => depth -= 1,
            _ => {
                // Keys are ASCII: compare bytes, and slice the text only at an ASCII byte (a
                // char boundary), never inside a multi-byte character of a corrupt WKT.
                if depth == 1 && bytes[i].is_ascii() {
                    let rest = &wkt[i..];
                    for key in ["AUTHORITY[", "ID["] {
                        let head = rest.as_bytes().get(..key.len());
                        if head.is_some_and(|h| h.eq_ignore_ascii_case(key.as_bytes())) {
                            let inner = &rest[key.len()..];
                            let inner = inner.split(']').next().unwrap_or("");
                            let mut parts = inner.split(',');
                            let auth = parts.next().unwrap_or("").trim().trim_matches('"');
                            let code = parts.next().unwrap_or("").trim().trim_matches('"');
                            if auth.eq_ignore_ascii_case("EPSG") {
                                found = code.parse().ok();
                            }
                        }
                    }
                }
            }
        }
        i += 1;
    }
    found
}

/// A GeoTIFF key directory VLR (LASF_Projection 34735) that names a projected EPSG CRS, for
/// headers made from scratch.
pub fn geotiff_vlr_for_epsg(code: u32) -> Option<las::Vlr> {
    let code = u16::try_from(code).ok()?;
    // KeyDirectoryVersion 1, revision 1.0, 3 keys: GTModelType = projected (1),
    // GTRasterType = PixelIsArea (1), ProjectedCSType = code.
    let keys: [u16; 16] = [1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, code];
    let data = keys.iter().flat_map(|k| k.to_le_bytes()).collect();
    Some(las::Vlr {
        user_id: "LASF_Projection".to_string(),
        record_id: 34735,
        description: "GeoTIFF GeoKeyDirectoryTag".to_string(),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsg_of_outer_crs_in_wkt1() {
        let wkt = r#"PROJCS["RGF93 / Lambert-93",GEOGCS["RGF93",DATUM["x",SPHEROID["GRS 1980",6378137,298.257222101,AUTHORITY["EPSG","7019"]],AUTHORITY["EPSG","6171"]],AUTHORITY["EPSG","4171"]],UNIT["metre",1],AUTHORITY["EPSG","2154"]]"#;
        assert_eq!(epsg_from_wkt(wkt), Some(2154));
    }

    #[test]
    fn wkt_with_multibyte_characters_is_not_sliced_inside_one() {
        // Found by the fuzzer: a corrupt WKT VLR panicked with "byte index is not a char
        // boundary".
        for wkt in [
            r#"PROJCRS["RGF93QWŵzbert-93",BASEGEOGCRS["RGF93"],ID["EPSG",2154]]"#,
            r#"PROJCRS["x",IDŵ["EPSG",1],AUTHŵ["EPSG","2"],ID["EPSG",2154]]"#,
            "PROJCRS[\"é\",ÀUTHORITY[\"EPSG\",\"1\"]]",
        ] {
            assert_eq!(
                epsg_from_wkt(wkt),
                (!wkt.contains('À')).then_some(2154),
                "{wkt}"
            );
        }
        assert_eq!(epsg_from_wkt("PROJCRS[\"x\",IDŵ"), None);
    }

    #[test]
    fn epsg_of_wkt2_id() {
        let wkt = r#"PROJCRS["WGS 84 / UTM zone 32N",BASEGEOGCRS["WGS 84",ID["EPSG",4326]],ID["EPSG",32632]]"#;
        assert_eq!(epsg_from_wkt(wkt), Some(32632));
    }

    #[test]
    fn no_epsg_when_absent() {
        assert_eq!(epsg_from_wkt(r#"LOCAL_CS["x"]"#), None);
    }

    #[test]
    fn same_as_compares_codes_first() {
        let a = Crs {
            epsg: Some(2154),
            wkt: Some("A".into()),
        };
        let b = Crs {
            epsg: Some(2154),
            wkt: None,
        };
        let c = Crs::from_epsg(32632);
        assert!(a.same_as(&b));
        assert!(!a.same_as(&c));
        assert!(Crs::default().same_as(&Crs::default()));
        assert!(!Crs::default().same_as(&c));
    }
}
