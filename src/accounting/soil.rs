//! Soil organic carbon density from layer measurements (carbon-accounting.md §1.3).
//!
//! `SOCDᵢ [t C/ha] = SOCᵢ [g/kg] × BDᵢ [g/cm³] × Tᵢ [cm] × (1 − Gᵢ) × 0.1`, summed over the layers
//! down to the reference depth D (params `soc.reference_depth_cm`, default 30 cm; t₁ and t₂
//! use the same D). A layer crossing D counts with its part above D; layers must cover 0…D
//! without gaps or overlaps. SOC may be given as organic matter: SOC = SOM/1.724.
//!
//! Missing bulk density: params `soc.missing_bd_policy` = "error" (default; the error lists
//! every row) or "pedotransfer": Adams (1973) BD = 100/(OM%/0.244 + (100 − OM%)/1.64), with
//! mineral bulk density 1.64 g/cm³ as commonly used (Mann 1986) [R], logged per row.
//!
//! Equivalent soil mass (optional, §1.3): when bulk density changes between years the
//! fixed-depth stock compares different soil masses; [`Profile::socd_for_mass`] gives the SOC
//! of the t₂ profile down to the depth holding the t₁ soil mass (the deepest layer extended
//! when needed). Records corrected this way carry the `esm_corrected` flag.
//!
//! Table (CSV, header names case-insensitive): `class, stratum, year, top_cm, bottom_cm,
//! soc_g_kg | som_g_kg, bd_g_cm3, gravel_pct | gravel_frac, soc_sd_g_kg, n` — stratum, year,
//! gravel, soc_sd and n optional. With `soc_sd_g_kg` and `n` the layer's SOC half-width is
//! t₀.₉₇₅,ₙ₋₁·sd/√n; layers of one profile are taken as fully correlated (conservative).
//!
//! See also: `density.rs`, `plots.rs` (SOC may also come from a plot table or defaults).

use super::uncertainty;
use super::LandClass;
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// Organic matter to organic carbon (van Bemmelen factor).
pub const SOM_TO_SOC: f64 = 1.724;

/// SOC density of one layer (t C/ha) from SOC (g/kg), bulk density (g/cm³), thickness (cm)
/// and gravel volume fraction (0–1).
pub fn layer_socd_t_ha(soc_g_kg: f64, bd_g_cm3: f64, thickness_cm: f64, gravel_frac: f64) -> f64 {
    soc_g_kg * bd_g_cm3 * thickness_cm * (1.0 - gravel_frac) * 0.1
}

/// Adams (1973) pedotransfer bulk density from organic matter (%), mineral BD 1.64 g/cm³.
pub fn adams_bd(om_pct: f64) -> f64 {
    100.0 / (om_pct / 0.244 + (100.0 - om_pct) / 1.64)
}

/// One measured layer.
#[derive(Debug, Clone, PartialEq)]
pub struct SoilLayer {
    pub top_cm: f64,
    pub bottom_cm: f64,
    pub soc_g_kg: f64,
    pub bd_g_cm3: f64,
    pub gravel_frac: f64,
    /// 95 % half-width of the layer's SOC (g/kg), where given.
    pub soc_half_width: Option<f64>,
    /// `true` when the bulk density came from the pedotransfer function.
    pub bd_estimated: bool,
}

/// The layers of one class/stratum (and year).
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub class: LandClass,
    pub stratum: String,
    pub year: Option<i32>,
    pub layers: Vec<SoilLayer>,
}

impl Profile {
    fn checked_layers(&self, depth_cm: f64) -> Result<Vec<&SoilLayer>> {
        let mut l: Vec<&SoilLayer> = self.layers.iter().collect();
        l.sort_by(|a, b| a.top_cm.total_cmp(&b.top_cm));
        let ctx = format!("soil profile {} '{}'", self.class.name(), self.stratum);
        let mut at = 0.0;
        for x in &l {
            if x.top_cm >= depth_cm {
                break;
            }
            if (x.top_cm - at).abs() > 1e-9 {
                return Err(Error::data(
                    &ctx,
                    format!(
                        "layers must cover 0-{depth_cm} cm without gap or overlap; a layer starts at {} cm where {at} cm was expected",
                        x.top_cm
                    ),
                ));
            }
            at = x.bottom_cm;
        }
        if at + 1e-9 < depth_cm {
            return Err(Error::data(
                &ctx,
                format!("layers reach {at} cm, less than the reference depth {depth_cm} cm"),
            ));
        }
        Ok(l)
    }

    /// SOC density to `depth_cm` (t C/ha) and its relative 95 % half-width (0 when the table
    /// gives no SOC sd).
    pub fn socd(&self, depth_cm: f64) -> Result<(f64, f64)> {
        let mut s = 0.0;
        let mut h = 0.0;
        for x in self.checked_layers(depth_cm)? {
            let t = x.bottom_cm.min(depth_cm) - x.top_cm;
            if t <= 0.0 {
                continue;
            }
            let d = layer_socd_t_ha(x.soc_g_kg, x.bd_g_cm3, t, x.gravel_frac);
            s += d;
            if let Some(hw) = x.soc_half_width {
                if x.soc_g_kg > 0.0 {
                    h += d * hw / x.soc_g_kg;
                }
            }
        }
        Ok((s, if s > 0.0 { h / s } else { 0.0 }))
    }

    /// Fine-earth soil mass to `depth_cm` (t/ha).
    pub fn soil_mass_t_ha(&self, depth_cm: f64) -> Result<f64> {
        Ok(self
            .checked_layers(depth_cm)?
            .iter()
            .map(|x| {
                let t = (x.bottom_cm.min(depth_cm) - x.top_cm).max(0.0);
                x.bd_g_cm3 * t * (1.0 - x.gravel_frac) * 100.0
            })
            .sum())
    }

    /// SOC (t C/ha) in the top `mass_t_ha` of fine-earth soil (equivalent soil mass), extending
    /// the deepest layer when the profile holds less mass.
    pub fn socd_for_mass(&self, mass_t_ha: f64) -> Result<f64> {
        let mut l: Vec<&SoilLayer> = self.layers.iter().collect();
        l.sort_by(|a, b| a.top_cm.total_cmp(&b.top_cm));
        if l.is_empty() {
            return Err(Error::data("soil profile", "no layers"));
        }
        let mut left = mass_t_ha;
        let mut s = 0.0;
        for (i, x) in l.iter().enumerate() {
            let per_cm = x.bd_g_cm3 * (1.0 - x.gravel_frac) * 100.0;
            if per_cm <= 0.0 {
                continue;
            }
            let t_avail = if i + 1 == l.len() {
                f64::INFINITY
            } else {
                x.bottom_cm - x.top_cm
            };
            let t = (left / per_cm).min(t_avail);
            s += layer_socd_t_ha(x.soc_g_kg, x.bd_g_cm3, t, x.gravel_frac);
            left -= t * per_cm;
            if left <= 1e-12 {
                break;
            }
        }
        Ok(s)
    }
}

/// A soil layer table.
#[derive(Debug, Clone, Default)]
pub struct SoilTable {
    pub path: PathBuf,
    pub profiles: Vec<Profile>,
    /// Rows whose bulk density came from the pedotransfer function (for the report).
    pub n_bd_estimated: usize,
}

impl SoilTable {
    /// Reads a soil layer CSV; `missing_bd_policy` is "error" or "pedotransfer".
    pub fn read(path: &Path, missing_bd_policy: &str) -> Result<SoilTable> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(&text, path, missing_bd_policy)
    }

    /// Parses a soil layer table (see the module doc).
    pub fn parse(text: &str, path: &Path, missing_bd_policy: &str) -> Result<SoilTable> {
        let ctx = path.display().to_string();
        if !matches!(missing_bd_policy, "error" | "pedotransfer") {
            return Err(Error::Config(format!(
                "soc.missing_bd_policy must be \"error\" or \"pedotransfer\", got \"{missing_bd_policy}\""
            )));
        }
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        let headers: Vec<String> = rdr
            .headers()
            .map_err(|e| Error::data(&ctx, e))?
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let col = |n: &str| headers.iter().position(|h| h == n);
        let mut missing = Vec::new();
        for c in ["class", "top_cm", "bottom_cm"] {
            if col(c).is_none() {
                missing.push(c.to_string());
            }
        }
        if col("soc_g_kg").is_none() && col("som_g_kg").is_none() {
            missing.push("soc_g_kg (or som_g_kg)".into());
        }
        if col("bd_g_cm3").is_none() && missing_bd_policy == "error" {
            missing.push("bd_g_cm3".into());
        }
        if !missing.is_empty() {
            return Err(Error::data(
                &ctx,
                format!(
                    "soil table lacks column(s) {} (has: {})",
                    missing.join(", "),
                    headers.join(", ")
                ),
            ));
        }
        let mut table = SoilTable {
            path: path.to_path_buf(),
            ..Default::default()
        };
        let mut no_bd = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| Error::data(&ctx, e))?;
            let line = rec.position().map_or(i as u64 + 2, |p| p.line());
            let at = format!("{ctx}, line {line}");
            let get = |n: &str| col(n).and_then(|i| rec.get(i)).unwrap_or("").to_string();
            let num = |n: &str| -> Result<Option<f64>> {
                let s = get(n);
                if s.is_empty() {
                    return Ok(None);
                }
                s.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .map(Some)
                    .ok_or_else(|| Error::data(&at, format!("column {n}: '{s}' is not a number")))
            };
            let cname = get("class");
            let class = LandClass::ALL
                .into_iter()
                .find(|c| c.name().eq_ignore_ascii_case(&cname))
                .ok_or_else(|| {
                    Error::data(&at, format!("class '{cname}' is not an accounting class"))
                })?;
            let year = match get("year").as_str() {
                "" => None,
                y => Some(
                    y.parse::<i32>()
                        .map_err(|_| Error::data(&at, format!("year '{y}' is not a year")))?,
                ),
            };
            let (top, bottom) = match (num("top_cm")?, num("bottom_cm")?) {
                (Some(t), Some(b)) if b > t && t >= 0.0 => (t, b),
                (t, b) => {
                    return Err(Error::data(
                        &at,
                        format!("layer depths top {t:?} / bottom {b:?} cm: need 0 <= top < bottom"),
                    ))
                }
            };
            let soc = match (num("soc_g_kg")?, num("som_g_kg")?) {
                (Some(s), _) => s,
                (None, Some(m)) => m / SOM_TO_SOC,
                _ => {
                    return Err(Error::data(
                        &at,
                        "no SOC (soc_g_kg) or SOM (som_g_kg) value",
                    ))
                }
            };
            let gravel = match (num("gravel_frac")?, num("gravel_pct")?) {
                (Some(g), _) => g,
                (None, Some(p)) => p / 100.0,
                _ => 0.0,
            };
            if !(0.0..1.0).contains(&gravel) || soc < 0.0 {
                return Err(Error::data(
                    &at,
                    format!("gravel fraction {gravel} must lie in [0, 1) and SOC {soc} be >= 0"),
                ));
            }
            let (bd, est) = match num("bd_g_cm3")? {
                Some(b) if b > 0.0 => (b, false),
                _ if missing_bd_policy == "pedotransfer" => {
                    let om = soc * SOM_TO_SOC / 10.0;
                    let b = adams_bd(om);
                    log::info!(
                        "{at}: bulk density missing, Adams (1973) pedotransfer gives {b:.3} g/cm³"
                    );
                    table.n_bd_estimated += 1;
                    (b, true)
                }
                _ => {
                    no_bd.push(line);
                    (f64::NAN, false)
                }
            };
            let h = match (num("soc_sd_g_kg")?, num("n")?) {
                (Some(sd), Some(n)) => uncertainty::sampling_half_width(sd, n as usize),
                _ => None,
            };
            let layer = SoilLayer {
                top_cm: top,
                bottom_cm: bottom,
                soc_g_kg: soc,
                bd_g_cm3: bd,
                gravel_frac: gravel,
                soc_half_width: h,
                bd_estimated: est,
            };
            let stratum = get("stratum");
            match table
                .profiles
                .iter_mut()
                .find(|p| p.class == class && p.stratum == stratum && p.year == year)
            {
                Some(p) => p.layers.push(layer),
                None => table.profiles.push(Profile {
                    class,
                    stratum,
                    year,
                    layers: vec![layer],
                }),
            }
        }
        if !no_bd.is_empty() {
            return Err(Error::data(
                &ctx,
                format!(
                    "bulk density missing on line(s) {} and soc.missing_bd_policy = \"error\" (measure BD, or set it to \"pedotransfer\")",
                    no_bd.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        Ok(table)
    }

    /// The profile for a class and stratum in `year` (stratum row first, then class level; a
    /// row with the year beats one without).
    pub fn lookup(&self, class: LandClass, stratum: &str, year: i32) -> Option<&Profile> {
        let pick = |s: &str| {
            let mut best = None;
            for p in &self.profiles {
                if p.class == class && p.stratum == s {
                    match p.year {
                        Some(y) if y == year => return Some(p),
                        None => best = Some(p),
                        _ => {}
                    }
                }
            }
            best
        };
        (!stratum.is_empty())
            .then(|| pick(stratum))
            .flatten()
            .or_else(|| pick(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_check_1_3_is_39_72() {
        assert!((layer_socd_t_ha(12.0, 1.30, 20.0, 0.05) - 29.64).abs() < 1e-9);
        assert!((layer_socd_t_ha(8.0, 1.40, 10.0, 0.10) - 10.08).abs() < 1e-9);
        let t = "class,top_cm,bottom_cm,soc_g_kg,bd_g_cm3,gravel_pct\n\
                 cropland,0,20,12,1.30,5\ncropland,20,30,8,1.40,10\ncropland,30,60,5,1.5,10\n";
        let tab = SoilTable::parse(t, Path::new("soil.csv"), "error").unwrap();
        let p = tab.lookup(LandClass::Cropland, "paddy", 2020).unwrap();
        let (s, u) = p.socd(30.0).unwrap();
        assert!((s - 39.72).abs() < 1e-9, "{s}");
        assert_eq!(u, 0.0);
        // A layer crossing the reference depth counts with its part above it.
        let (s25, _) = p.socd(25.0).unwrap();
        assert!((s25 - (29.64 + 5.04)).abs() < 1e-9);
        // SOM instead of SOC.
        let t2 = "class,top_cm,bottom_cm,som_g_kg,bd_g_cm3\nforest,0,30,17.24,1.0\n";
        let s = SoilTable::parse(t2, Path::new("s.csv"), "error")
            .unwrap()
            .profiles[0]
            .socd(30.0)
            .unwrap()
            .0;
        assert!((s - 30.0).abs() < 1e-9);
    }

    #[test]
    fn bad_profiles_and_missing_bd() {
        let gap =
            "class,top_cm,bottom_cm,soc_g_kg,bd_g_cm3\nforest,0,10,10,1.2\nforest,15,30,8,1.3\n";
        let t = SoilTable::parse(gap, Path::new("g.csv"), "error").unwrap();
        assert!(t.profiles[0]
            .socd(30.0)
            .unwrap_err()
            .to_string()
            .contains("gap"));
        let shallow = "class,top_cm,bottom_cm,soc_g_kg,bd_g_cm3\nforest,0,20,10,1.2\n";
        let t = SoilTable::parse(shallow, Path::new("s.csv"), "error").unwrap();
        assert!(t.profiles[0]
            .socd(30.0)
            .unwrap_err()
            .to_string()
            .contains("reference depth"));
        let nobd = "class,top_cm,bottom_cm,soc_g_kg,bd_g_cm3\nforest,0,20,10,\nforest,20,30,8,\n";
        let e = SoilTable::parse(nobd, Path::new("n.csv"), "error")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line(s) 2, 3"), "{e}");
        let t = SoilTable::parse(nobd, Path::new("n.csv"), "pedotransfer").unwrap();
        assert_eq!(t.n_bd_estimated, 2);
        let bd = t.profiles[0].layers[0].bd_g_cm3;
        assert!(
            (bd - adams_bd(1.724)).abs() < 1e-12 && bd > 1.3 && bd < 1.64,
            "{bd}"
        );
    }

    #[test]
    fn equivalent_soil_mass() {
        let t = "class,year,top_cm,bottom_cm,soc_g_kg,bd_g_cm3\n\
                 forest,2020,0,30,10,1.5\nforest,2025,0,30,10,1.2\n";
        let tab = SoilTable::parse(t, Path::new("e.csv"), "error").unwrap();
        let p1 = tab.lookup(LandClass::Forest, "", 2020).unwrap();
        let p2 = tab.lookup(LandClass::Forest, "", 2025).unwrap();
        let m1 = p1.soil_mass_t_ha(30.0).unwrap();
        assert!((m1 - 4500.0).abs() < 1e-9);
        // Fixed depth: 45 vs 36 t C/ha; at equal soil mass the t2 profile holds 45 as well
        // (same SOC concentration, the deepest layer extended to 37.5 cm).
        assert!((p2.socd(30.0).unwrap().0 - 36.0).abs() < 1e-9);
        assert!((p2.socd_for_mass(m1).unwrap() - 45.0).abs() < 1e-9);
    }
}
