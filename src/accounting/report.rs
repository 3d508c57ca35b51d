//! The accounting report: one self-contained HTML file (`report.html`, maps embedded as PNG
//! data URIs and also written as `map_*.png`) that a county officer can read without GIS:
//! headline sink with its 95 % interval, the county table, maps of carbon density (t₁, t₂, same
//! legend) and of the sink per unit (t CO₂/ha/yr) and of class change, stocks and sinks by
//! pool, the class-transition matrix, where every density came from (methods, defaults, NE
//! pools, raster coverage), data-quality notes (slivers, gaps, repaired polygons, area
//! balance), both uncertainty approaches with the largest contributors, the LiDAR model
//! statistics, and every parameter with its value and source (`Params::provenance`).
//! `run.json` records the run (configuration, seed, timings, results) for machines.
//!
//! All files are written under a temporary name and renamed.
//!
//! See also: `map.rs`, `tables.rs`, `pipeline.rs`.

use super::aggregate::class_ix;
use super::config::AccountConfig;
use super::density::PoolSource;
use super::map;
use super::pipeline::Accounting;
use super::uncertainty;
use super::{LandClass, Method, Pool, CO2_PER_C};
use crate::points::write::{commit_temp, temp_path};
use crate::{Error, Result};
use std::fmt::Write as _;
use std::path::Path;

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    commit_temp(&tmp, path)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Thousands-separated number with `dp` decimals.
pub fn num(v: f64, dp: usize) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let s = format!("{:.*}", dp, v.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), format!(".{f}")),
        None => (s.clone(), String::new()),
    };
    let mut g = String::new();
    for (k, ch) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            g.push(',');
        }
        g.push(ch);
    }
    let neg = v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    format!("{}{g}{frac}", if neg { "−" } else { "" })
}

/// `x` rounded to four significant digits.
fn sig4(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let d = 3 - x.abs().log10().floor() as i32;
    let f = 10f64.powi(d);
    (x * f).round() / f
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".into(), |x| format!("{x:.1} %"))
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for ch in bytes.chunks(3) {
        let b = [ch[0], *ch.get(1).unwrap_or(&0), *ch.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= ch.len() {
                out.push(T[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn legend_html(l: &[(map::Rgb, String)]) -> String {
    let mut s = String::from("<div class=\"legend\">");
    for (c, label) in l {
        let _ = write!(
            s,
            "<span><i style=\"background:rgb({},{},{})\"></i>{}</span>",
            c[0],
            c[1],
            c[2],
            esc(label)
        );
    }
    s.push_str("<span><i style=\"background:repeating-linear-gradient(135deg,#969696 0 2px,#fff 2px 6px)\"></i>no value</span></div>");
    s
}

struct MapOut {
    file: String,
    png: Vec<u8>,
    legend: String,
    bar_m: f64,
    m_per_px: f64,
}

fn maps(acc: &Accounting, out: &Path, width: usize) -> Result<Vec<(String, MapOut)>> {
    let geoms: Vec<&super::geom::MultiPolygon> = acc.units.iter().map(|u| &u.geom).collect();
    let mut res = Vec::new();
    let d: Vec<f64> = acc
        .units
        .iter()
        .flat_map(|u| [u.density_total(0), u.density_total(1)])
        .collect();
    let dc = map::sequential(&d);
    let bbox = geoms
        .iter()
        .fold(super::geom::Bbox::EMPTY, |b, g| b.union(&g.bbox()));
    let m_per_px = (bbox.width() * 1.04) / width as f64;
    for y in 0..2 {
        let vals: Vec<Option<f64>> = acc.units.iter().map(|u| Some(u.density_total(y))).collect();
        let title = format!("Carbon density {} (t C/ha, all pools)", acc.years[y]);
        let furniture = map::Furniture {
            title: &title,
            legend: dc.legend("t C/ha"),
        };
        let (png, bar) = map::choropleth(&geoms, &vals, &dc, width, &furniture)?;
        res.push((
            title.clone(),
            MapOut {
                file: format!("map_density_t{}.png", y + 1),
                png,
                legend: legend_html(&furniture.legend),
                bar_m: bar,
                m_per_px,
            },
        ));
    }
    let sink: Vec<Option<f64>> = acc
        .units
        .iter()
        .map(|u| (u.area_ha > 0.0).then(|| u.sink.co2_yr_total() / u.area_ha))
        .collect();
    let sv: Vec<f64> = sink.iter().flatten().copied().collect();
    let sc = map::diverging(&sv);
    let title = format!(
        "Sink per unit {}–{} (t CO₂/ha/yr; blue = removal, red = emission)",
        acc.years[0], acc.years[1]
    );
    let furniture = map::Furniture {
        title: &title,
        legend: sc.legend("t CO₂/ha/yr"),
    };
    let (png, bar) = map::choropleth(&geoms, &sink, &sc, width, &furniture)?;
    res.push((
        title.clone(),
        MapOut {
            file: "map_sink.png".into(),
            png,
            legend: legend_html(&furniture.legend),
            bar_m: bar,
            m_per_px,
        },
    ));
    // Class change: unchanged / to forest / from forest / to out of scope / other change.
    let cat = |u: &super::UnitResult| -> f64 {
        let (a, b) = (u.class[0], u.class[1]);
        if a == b {
            0.0
        } else if b == LandClass::Forest {
            1.0
        } else if a == LandClass::Forest {
            2.0
        } else if b == LandClass::OutOfScope {
            3.0
        } else {
            4.0
        }
    };
    let cc = map::Classes {
        breaks: vec![0.5, 1.5, 2.5, 3.5],
        colors: vec![
            [235, 235, 235],
            [35, 132, 67],
            [230, 120, 30],
            [120, 120, 120],
            [120, 90, 200],
        ],
    };
    let vals: Vec<Option<f64>> = acc.units.iter().map(|u| Some(cat(u))).collect();
    let labels = [
        "same class",
        "to forest",
        "from forest",
        "to out of scope",
        "other change",
    ];
    let title = format!(
        "Land-class change {}–{} (accounting classes)",
        acc.years[0], acc.years[1]
    );
    let furniture = map::Furniture {
        title: &title,
        legend: cc
            .colors
            .iter()
            .zip(labels)
            .map(|(c, l)| (*c, l.to_string()))
            .collect(),
    };
    let (png, bar) = map::choropleth(&geoms, &vals, &cc, width, &furniture)?;
    res.push((
        title.clone(),
        MapOut {
            file: "map_change.png".into(),
            png,
            legend: legend_html(&furniture.legend),
            bar_m: bar,
            m_per_px,
        },
    ));
    for (_, m) in &res {
        write_file(&out.join(&m.file), &m.png)?;
    }
    Ok(res)
}

fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::from("<table><thead><tr>");
    for h in head {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for (k, c) in r.iter().enumerate() {
            if k == 0 {
                let _ = write!(s, "<td class=\"l\">{c}</td>");
            } else {
                let _ = write!(s, "<td>{c}</td>");
            }
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

fn param_rows(acc: &Accounting) -> Vec<Vec<String>> {
    let v: toml::Value =
        toml::from_str(&acc.params.to_toml()).unwrap_or(toml::Value::Boolean(false));
    let mut rows = Vec::new();
    fn walk(v: &toml::Value, key: String, out: &mut Vec<(String, String)>) {
        match v {
            toml::Value::Table(t) => {
                for (k, x) in t {
                    let kk = if key.is_empty() {
                        k.clone()
                    } else {
                        format!("{key}.{k}")
                    };
                    walk(x, kk, out);
                }
            }
            other => out.push((key, other.to_string())),
        }
    }
    let mut leaves = Vec::new();
    walk(&v, String::new(), &mut leaves);
    for (k, val) in leaves {
        let src = acc
            .params
            .provenance
            .get(&k)
            .cloned()
            .unwrap_or_else(|| "default".into());
        let src = if src == "default" {
            "built-in default".to_string()
        } else {
            format!("file {src}")
        };
        rows.push(vec![
            format!("<code>{}</code>", esc(&k)),
            esc(&val),
            esc(&src),
        ]);
    }
    rows
}

/// Writes `report.html` and the map PNGs into `out`.
pub fn write_report(
    acc: &Accounting,
    out: &Path,
    crs_name: &str,
    width_px: u32,
    config_toml: &str,
) -> Result<()> {
    let maps = maps(acc, out, width_px.max(300) as usize)?;
    let (y1, y2) = (acc.years[0], acc.years[1]);
    let reg = &acc.region;
    let a1 = acc.a1.last().cloned().unwrap_or_default();
    let sink_co2 = reg.sink.co2_yr_total();
    let h_co2 = a1.h_sink_tc_yr * CO2_PER_C;
    let mut h = String::new();
    let names: Vec<String> = acc
        .counties
        .iter()
        .map(|c| {
            if c.county_name.is_empty() {
                c.county_code.clone()
            } else {
                format!("{} ({})", c.county_name, c.county_code)
            }
        })
        .collect();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Carbon sink accounting {y1}–{y2}</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}}\
h1{{font-size:1.6em}}h2{{border-bottom:2px solid #3a7;padding-bottom:.2em;margin-top:2em}}\
table{{border-collapse:collapse;margin:.6em 0;font-size:.9em}}td,th{{border:1px solid #ccc;padding:.25em .5em;text-align:right}}\
th{{background:#eef5ee}}td.l{{text-align:left}}.big{{font-size:1.4em;background:#eef5ee;padding:.8em;border-radius:6px}}\
.legend span{{display:inline-block;margin:0 1em .3em 0;font-size:.85em}}.legend i{{display:inline-block;width:14px;height:14px;margin-right:4px;vertical-align:middle;border:1px solid #999}}\
img{{max-width:100%;border:1px solid #ccc}}code{{font-size:.9em}}.note{{color:#555;font-size:.9em}}pre{{background:#f6f6f6;padding:.6em;overflow-x:auto;font-size:.8em}}.warn{{background:#fff3e0;border-left:4px solid #e65100;padding:.5em .8em}}</style></head><body>"
    );
    let _ = write!(
        h,
        "<h1>Carbon sink accounting, {} — {y1} to {y2}</h1>\
<p class=\"note\">Stock-difference method on land-survey patches (陆域国土空间碳汇计量, patch-based). Base year {y1} ({} patches, <code>{}</code>), measurement year {y2} ({} patches, <code>{}</code>). CRS: {}. Sink &gt; 0 means a net removal of CO₂ from the atmosphere.</p>",
        esc(&names.join(", ")),
        acc.patch_counts[0],
        esc(&acc.patch_files[0]),
        acc.patch_counts[1],
        esc(&acc.patch_files[1]),
        esc(crs_name)
    );
    let mc_line = acc.mc.as_ref().map_or(String::new(), |m| {
        format!(
            "<br>Monte Carlo ({} draws, seed {}): 95 % interval {} to {} t CO₂/yr (U = {}).",
            num(m.draws as f64, 0),
            m.seed,
            num(m.region[2].p025 * CO2_PER_C, 1),
            num(m.region[2].p975 * CO2_PER_C, 1),
            pct(m.region[2].u_pct())
        )
    });
    let _ = write!(
        h,
        "<div class=\"big\">Net sink: <b>{} t CO₂/yr</b> ± {} (95 %, U = {})<br>\
= {} t C/yr over {} ha; carbon stock {} → {} t C ({} → {} t C/ha).{mc_line}</div>",
        num(sink_co2, 1),
        num(h_co2, 1),
        pct(a1.u_sink_pct()),
        num(reg.sink.tc_yr_total(), 1),
        num(reg.area_ha, 1),
        num(reg.stock_total(0), 0),
        num(reg.stock_total(1), 0),
        num(reg.density(0), 2),
        num(reg.density(1), 2)
    );
    // County table.
    h.push_str("<h2>Results by county (table F-2)</h2>");
    let mut rows = Vec::new();
    for (i, c) in acc.counties.iter().chain(std::iter::once(reg)).enumerate() {
        let a = &acc.a1[i];
        let mcu = acc.mc.as_ref().and_then(|m| {
            if i < m.groups.len() {
                m.groups[i][2].u_pct()
            } else {
                m.region[2].u_pct()
            }
        });
        let hc = a.h_sink_tc_yr * CO2_PER_C;
        let sc = c.sink.co2_yr_total();
        rows.push(vec![
            format!("{} {}", esc(&c.county_code), esc(&c.county_name)),
            c.n_units.to_string(),
            num(c.area_ha, 1),
            num(c.stock_total(0), 0),
            num(c.stock_total(1), 0),
            num(c.density(0), 2),
            num(c.density(1), 2),
            num(c.sink.tc_yr_total(), 1),
            num(sc, 1),
            format!("{} to {}", num(sc - hc, 1), num(sc + hc, 1)),
            pct(a.u_sink_pct()),
            pct(mcu),
        ]);
    }
    h.push_str(&table(
        &[
            "county",
            "units",
            "area ha",
            &format!("stock {y1} t C"),
            &format!("stock {y2} t C"),
            &format!("density {y1} t C/ha"),
            &format!("density {y2} t C/ha"),
            "sink t C/yr",
            "sink t CO₂/yr",
            "95 % interval t CO₂/yr",
            "U (approach 1)",
            "U (Monte Carlo)",
        ],
        &rows,
    ));
    h.push_str("<p class=\"note\">Densities are area-weighted (Σ stock / Σ area). Areas are the survey's ellipsoidal areas (TBMJ) apportioned to the accounting units by planar-area share.</p>");
    // Maps.
    h.push_str("<h2>Maps</h2>");
    for (title, m) in &maps {
        let _ = write!(
            h,
            "<h3>{}</h3><img alt=\"{}\" src=\"data:image/png;base64,{}\">{}<p class=\"note\">File <code>{}</code>. Scale bar (bottom left): {} m; {:.1} m per pixel; north is up.</p>",
            esc(title),
            esc(title),
            base64(&m.png),
            // The PNG carries its own legend when a font was found; else the page gives it.
            if crate::biomass::figures::font_available() {
                ""
            } else {
                &m.legend
            },
            m.file,
            num(m.bar_m, 0),
            m.m_per_px
        );
    }
    // Pools.
    h.push_str("<h2>Stocks and sinks by carbon pool</h2>");
    let mut rows = Vec::new();
    for p in Pool::ALL {
        let k = p.ix();
        rows.push(vec![
            p.name().to_string(),
            num(reg.stock[0][k], 0),
            num(reg.stock[1][k], 0),
            num(reg.pool_density(0, k), 2),
            num(reg.pool_density(1, k), 2),
            num(reg.sink.tc_yr[k], 1),
            num(reg.sink.tc_yr[k] * CO2_PER_C, 1),
        ]);
    }
    rows.push(vec![
        "total".into(),
        num(reg.stock_total(0), 0),
        num(reg.stock_total(1), 0),
        num(reg.density(0), 2),
        num(reg.density(1), 2),
        num(reg.sink.tc_yr_total(), 1),
        num(sink_co2, 1),
    ]);
    h.push_str(&table(
        &[
            "pool",
            &format!("stock {y1} t C"),
            &format!("stock {y2} t C"),
            &format!("{y1} t C/ha"),
            &format!("{y2} t C/ha"),
            "sink t C/yr",
            "sink t CO₂/yr",
        ],
        &rows,
    ));
    // Transition matrix.
    let _ = write!(h, "<h2>Land-class transitions {y1} → {y2} (table F-3)</h2><p>Area in ha (first line) and sink in t CO₂/yr ± its 95 % approach-1 uncertainty (second line; the cell's units with every shared error source correlated); rows: class in {y1}, columns: class in {y2}.</p>");
    let classes: Vec<LandClass> = LandClass::ALL.to_vec();
    let mut rows = Vec::new();
    for a in &classes {
        let mut r = vec![a.name().to_string()];
        for b in &classes {
            r.push(match acc.transitions.get(&(*a, *b)) {
                Some(t) => format!(
                    "{}<br><small>{}{}</small>",
                    num(t.area_ha, 2),
                    num(t.sink_tc_yr * CO2_PER_C, 1),
                    t.u_sink_pct()
                        .map_or(String::new(), |u| format!(" ± {}", pct(Some(u))))
                ),
                None => "".into(),
            });
        }
        rows.push(r);
    }
    let mut head: Vec<String> = vec![format!("{y1} \\ {y2}")];
    head.extend(classes.iter().map(|c| c.name().to_string()));
    let head_ref: Vec<&str> = head.iter().map(String::as_str).collect();
    h.push_str(&table(&head_ref, &rows));
    // Methods and sources.
    h.push_str("<h2>Where the densities come from</h2>");
    let mut rows = Vec::new();
    for m in [
        Method::LidarAba,
        Method::LidarItd,
        Method::Plot,
        Method::VolumeBef,
        Method::Default,
    ] {
        let a = [0, 1].map(|y| acc.method_area.get(&(y, m)).copied().unwrap_or(0.0));
        if a[0] + a[1] > 0.0 {
            rows.push(vec![m.name().into(), num(a[0], 1), num(a[1], 1)]);
        }
    }
    let oos = [0, 1].map(|y| {
        acc.units
            .iter()
            .filter(|u| !u.class[y].in_scope())
            .map(|u| u.area_ha)
            .sum::<f64>()
    });
    rows.push(vec![
        "<i>of which out of scope (biomass and DOM 0)</i>".into(),
        num(oos[0], 1),
        num(oos[1], 1),
    ]);
    h.push_str(&table(
        &[
            "method (of the AGB pool)",
            &format!("area {y1} ha"),
            &format!("area {y2} ha"),
        ],
        &rows,
    ));
    let mut rows = Vec::new();
    for p in Pool::ALL {
        for s in [
            PoolSource::Lidar,
            PoolSource::Plot,
            PoolSource::VolumeBef,
            PoolSource::Soil,
            PoolSource::Default,
            PoolSource::RetainedSoc,
            PoolSource::OutOfScope,
            PoolSource::Tier1Zero,
            PoolSource::NotEstimated,
        ] {
            let a = [0, 1].map(|y| acc.pool_source_area.get(&(y, p, s)).copied().unwrap_or(0.0));
            if a[0] + a[1] > 0.0 {
                rows.push(vec![
                    format!("{} — {}", p.name(), s.name()),
                    num(a[0], 1),
                    num(a[1], 1),
                ]);
            }
        }
    }
    h.push_str(&table(
        &[
            "pool — source",
            &format!("area {y1} ha"),
            &format!("area {y2} ha"),
        ],
        &rows,
    ));
    if !acc.ne_area.is_empty() {
        let list: Vec<String> = acc
            .ne_area
            .iter()
            .map(|((y, c, p), a)| {
                format!(
                    "{} {} in {} ({} ha)",
                    c.name(),
                    p.name(),
                    acc.years[*y],
                    num(*a, 1)
                )
            })
            .collect();
        let _ = write!(h, "<p><b>Not estimated (NE: empty fields in F-1 and the GeoPackage, method <code>NE</code>; omitted from the totals, listed in F-2's <code>ne_pools_t1/t2</code>):</b> {}. Forest dead wood has no IPCC default and must be measured; wetland biomass and SOC have no default either.</p>", esc(&list.join("; ")));
    }
    let n_flag = |f: u16| acc.units.iter().filter(|u| u.flags.has(f)).count();
    let n_def = n_flag(super::Flags::DEFAULT_USED);
    let n_ext = n_flag(super::Flags::EXTRAPOLATED);
    let n_oos = n_flag(super::Flags::OUT_OF_SCOPE_CLASS);
    let n_other = n_flag(super::Flags::MODEL_OTHER_CLASS);
    let n_a1 = n_flag(super::Flags::A1_INVALID);
    let ext_any = acc
        .units
        .iter()
        .flat_map(|u| u.density.iter())
        .filter(|d| d.extrapolated_share.is_some_and(|s| s > 0.0))
        .count();
    let _ = write!(
        h,
        "<p>Flags: {n_def} units use a parameter default for at least one pool (<code>default_used</code>); {n_ext} units have more than the threshold share of their LiDAR area outside the model's calibration range (<code>extrapolated</code>; {ext_any} unit-years have some extrapolated cells, each share in F-1's <code>extrap_pct_t1/t2</code>); {n_other} take LiDAR rasters from a model calibrated for another class (<code>model_other_class</code>); {n_a1} have a sink U beyond approach 1's validity (<code>approach1_invalid</code>); {n_oos} are out of scope in a year (<code>out_of_scope_class</code>; SOC rule: <code>{}</code>); {} were corrected to equivalent soil mass.</p>",
        esc(&acc.params.soc.out_of_scope),
        acc.n_esm_corrected
    );
    let mut ext: Vec<(f64, String)> = acc
        .units
        .iter()
        .flat_map(|u| {
            (0..2).filter_map(move |y| {
                let sh = u.density[y].extrapolated_share?;
                (sh > 0.0).then(|| (sh, format!("{} ({})", u.id, acc.years[y])))
            })
        })
        .collect();
    if !ext.is_empty() {
        ext.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let rows: Vec<Vec<String>> = ext
            .iter()
            .take(15)
            .map(|(sh, n)| vec![esc(n), format!("{:.1} %", sh * 100.0)])
            .collect();
        h.push_str("<p>Unit-years with the largest share of LiDAR area outside the calibration range (predictions there extrapolate the model):</p>");
        h.push_str(&table(&["unit (year)", "area extrapolated"], &rows));
    }
    // Data quality.
    h.push_str("<h2>Data quality</h2>");
    let b = &acc.balance;
    let fell: Vec<&super::density::CoverageIssue> =
        acc.coverage.iter().filter(|c| c.fell_back).collect();
    let part = acc.coverage.len() - fell.len();
    let _ = write!(
        h,
        "<ul><li>Overlay: {} accounting units; {} slivers below {} m² dropped ({} m² in total; their area was redistributed over the units of the same patch); {} units kept although smaller (all that remained of a patch, flag <code>sliver</code>).</li>\
<li>Area balance ({} area field apportioned): units {} ha + uncovered parts {} ha = {} ha of patches (closure {:.2e}); planar: units + slivers + gaps = patches within {:.2e}.</li>\
<li>Parts of patches covered by no patch of the other survey: {} m² of {} patches and {} m² of {} patches.</li>\
<li>Invalid polygons repaired: {} ({}).</li>\
<li>LiDAR raster coverage: {} unit-years outside coverage (densities from the next source; {} ha), {} partly covered (mean of the covered part); {} unchanged units had usable rasters in one year only and use the next source in both years (same method in both years).</li></ul>",
        acc.units.len(),
        acc.slivers.len(),
        acc.options.overlay.sliver_m2,
        num(b.sliver_planar_m2, 2),
        acc.units.iter().filter(|u| u.flags.has(super::Flags::SLIVER)).count(),
        if b.area_year == 0 { y1 } else { y2 },
        num(b.unit_area_ha, 4),
        num(b.gap_area_ha, 4),
        num(b.patch_area_ha[b.area_year], 4),
        b.closure_area_rel,
        b.closure_planar_rel,
        num(b.gap_planar_m2[0], 1),
        acc.gaps.iter().filter(|g| g.year_ix == 0).count(),
        num(b.gap_planar_m2[1], 1),
        acc.gaps.iter().filter(|g| g.year_ix == 1).count(),
        acc.repairs.len(),
        esc(&acc.repairs.iter().map(|r| format!("{} {} by {}", r.year, r.patch_id, r.method)).collect::<Vec<_>>().join(", ")),
        fell.len(),
        num(fell.iter().map(|c| c.unit_m2).sum::<f64>() / 1e4, 2),
        part,
        acc.n_lidar_one_year_only
    );
    h.push_str("<p class=\"note\">Every record is listed in <code>issues.csv</code>.</p>");
    // Plausibility.
    if acc.checks.is_empty() {
        h.push_str("<p>Plausibility checks (live-biomass density and annual gain per class, bounds in the parameters' <code>[plausibility]</code>): every unit within its bounds.</p>");
    } else {
        let _ = write!(
            h,
            "<p class=\"warn\"><b>Plausibility: {} finding(s)</b> beyond the bounds of the parameters' <code>[plausibility]</code> tables (values are not changed; check the plots, the model and the units; all in <code>checks.csv</code>):</p>",
            acc.checks.len()
        );
        let rows: Vec<Vec<String>> = acc
            .checks
            .iter()
            .take(15)
            .map(|c| {
                vec![
                    esc(c.kind),
                    esc(&c.unit),
                    esc(&c.class),
                    esc(&c.when),
                    format!("{} {}", num(c.value, 2), c.units),
                    format!("{} {}", num(c.bound, 2), c.units),
                ]
            })
            .collect();
        h.push_str(&table(
            &["check", "unit", "class", "when", "value", "bound"],
            &rows,
        ));
    }
    // Uncertainty.
    h.push_str("<h2>Uncertainty</h2><p>U is the half-width of the 95 % confidence interval divided by the estimate (IPCC). Approach 1 propagates errors analytically: patches that share a stratum density, a default or a model share one error (combined per stratum first), a parameter used in both years (a default, an area) cancels in the change, remeasured plots enter with their paired correlation. Approach 2 samples the same error sources (one draw per shared source for both years).</p>");
    let mut rows = Vec::new();
    for (i, c) in acc.counties.iter().chain(std::iter::once(reg)).enumerate() {
        let a = &acc.a1[i];
        let m = acc.mc.as_ref().map(|m| {
            if i < m.groups.len() {
                m.groups[i]
            } else {
                m.region
            }
        });
        rows.push(vec![
            esc(&c.county_code),
            pct(a.u_stock_t1_pct()),
            pct(a.u_stock_t2_pct()),
            pct(a.u_sink_pct()),
            pct(m.and_then(|m| m[0].u_pct())),
            pct(m.and_then(|m| m[1].u_pct())),
            pct(m.and_then(|m| m[2].u_pct())),
            m.map_or("–".into(), |m| {
                format!("{} / {}", pct(m[2].u_low_pct()), pct(m[2].u_high_pct()))
            }),
        ]);
    }
    h.push_str(&table(
        &[
            "county",
            &format!("U stock {y1} (A1)"),
            &format!("U stock {y2} (A1)"),
            "U sink (A1)",
            &format!("U stock {y1} (MC)"),
            &format!("U stock {y2} (MC)"),
            "U sink (MC)",
            "MC sink lower / upper side",
        ],
        &rows,
    ));
    if let Some(m) = &acc.mc {
        let _ = write!(h, "<p class=\"note\">Monte Carlo: {} draws, seed {} (fixed and logged), {} sources sampled individually ({} lognormal because their CV exceeds the approach-1 limit).</p>", num(m.draws as f64, 0), m.seed, m.n_shared_sources, m.n_lognormal);
    }
    let invalid: Vec<String> = acc
        .counties
        .iter()
        .chain(std::iter::once(reg))
        .zip(&acc.a1)
        .filter(|(_, a)| !a.sink_valid())
        .map(|(c, _)| esc(&c.county_code))
        .collect();
    if !invalid.is_empty() {
        let _ = write!(
            h,
            "<p class=\"warn\"><b>Approach 1 is outside its validity</b> for the sink of {} (U above {:.1} %, i.e. a coefficient of variation above 0.3; IPCC 2006 vol. 1 ch. 3): its symmetric interval is not to be used. Report the Monte Carlo interval (approach 2){}.</p>",
            invalid.join(", "),
            uncertainty::A1_MAX_U_PCT,
            if acc.mc.is_some() { " given above and in <code>uncertainty.csv</code>" } else { "; it was not run (<code>mc_draws = 0</code>)" }
        );
    }
    let shared = uncertainty::shared_between_years(&acc.registry, &acc.ledger);
    let _ = write!(
        h,
        "<h3>Error sources correlated between {y1} and {y2}</h3><p>An error source is shared between the years only where the same input is used in both: the same fitted model (identified by a hash of its coefficients and training plots, not by its name), the same default parameter, the same remeasured plot sample (paired), the same area estimate. Its error is then fully correlated and cancels in the stock difference as far as the two stocks it scales are equal; every other source is independent between the years. {} shared source(s):</p>",
        shared.len()
    );
    if !shared.is_empty() {
        let rows: Vec<Vec<String>> = shared
            .iter()
            .take(30)
            .map(|k| {
                vec![
                    format!("<code>{}</code>", esc(&k.key)),
                    esc(&k.label),
                    num(k.stock_tc[0], 2),
                    num(k.stock_tc[1], 2),
                ]
            })
            .collect();
        h.push_str(&table(
            &[
                "error key",
                "source",
                &format!("stock scaled {y1} (t C)"),
                &format!("stock scaled {y2} (t C)"),
            ],
            &rows,
        ));
        if shared.len() > 30 {
            let _ = write!(h, "<p class=\"note\">… and {} more.</p>", shared.len() - 30);
        }
    }
    if !acc.contributors.is_empty() {
        let rows: Vec<Vec<String>> = acc
            .contributors
            .iter()
            .map(|(k, s)| {
                vec![
                    format!("<code>{}</code>", esc(k)),
                    format!("{:.1} %", s * 100.0),
                ]
            })
            .collect();
        h.push_str(
            "<p>Largest contributors to the variance of the regional sink (approach 1):</p>",
        );
        h.push_str(&table(&["error source", "share of variance"], &rows));
    }
    // Models.
    h.push_str("<h2>LiDAR models</h2>");
    let mut any = false;
    for y in 0..2 {
        if let Some(li) = &acc.lidar_info[y] {
            let (name, id, u, info) = (&li.name, &li.model_id, li.model_u_pct, &li.model);
            any = true;
            let _ = write!(
                h,
                "<h3>{}: <code>{}</code></h3><p>Model id <code>{}</code> (units and years with the same id share its error); systematic model uncertainty {}.</p>",
                acc.years[y],
                esc(name),
                esc(id),
                u.map_or("not given".to_string(), |u| format!("±{u:.2} %"))
            );
            if let Some(serde_json::Value::Object(o)) = info {
                let rows: Vec<Vec<String>> = o
                    .iter()
                    .filter(|(_, v)| !v.is_object() && !v.is_array())
                    .map(|(k, v)| {
                        // Numbers to four significant digits: what a fit statistic means.
                        let text = match v.as_f64() {
                            Some(x) if !v.is_i64() && !v.is_u64() => format!("{}", sig4(x)),
                            _ => v.to_string().trim_matches('"').to_string(),
                        };
                        vec![esc(k), esc(&text)]
                    })
                    .collect();
                h.push_str(&table(&["statistic", "value"], &rows));
            }
        }
    }
    if !any {
        h.push_str("<p>No LiDAR density rasters were used.</p>");
    }
    // Parameters.
    h.push_str("<h2>Parameters and their sources</h2><p>Every parameter used, with its value and where it came from (built-in defaults carry their literature source in the <code>source</code> entries; [R] = standard reference value not re-checked against its source, [V] = checked).</p>");
    h.push_str(&table(&["parameter", "value", "set by"], &param_rows(acc)));
    let _ = write!(
        h,
        "<h2>Run configuration</h2><pre>{}</pre>",
        esc(config_toml)
    );
    let t: Vec<String> = acc
        .timings
        .iter()
        .map(|(k, v)| format!("{k} {v:.2} s"))
        .collect();
    let _ = write!(h, "<p class=\"note\">Timing: {}. Files: F1_units.csv, F2_county.csv, F3_transitions.csv, uncertainty.csv, issues.csv, checks.csv, units.gpkg (layers F1_units with geometry, F2_county, F3_transitions), run.json.</p></body></html>", esc(&t.join(", ")));
    write_file(&out.join("report.html"), h.as_bytes())
}

/// Writes `run.json`: configuration, seed, counts, balance, results and timings.
pub fn write_run_json(acc: &Accounting, out: &Path, cfg: &AccountConfig) -> Result<()> {
    let counties: Vec<serde_json::Value> = acc
        .counties
        .iter()
        .chain(std::iter::once(&acc.region))
        .enumerate()
        .map(|(i, c)| {
            let a = &acc.a1[i];
            serde_json::json!({
                "county_code": c.county_code,
                "county_name": c.county_name,
                "n_units": c.n_units,
                "area_ha": c.area_ha,
                "area_by_class_t1_ha": LandClass::ALL.iter().map(|k| (k.name(), c.area_by_class[0][class_ix(*k)])).collect::<std::collections::BTreeMap<_, _>>(),
                "area_by_class_t2_ha": LandClass::ALL.iter().map(|k| (k.name(), c.area_by_class[1][class_ix(*k)])).collect::<std::collections::BTreeMap<_, _>>(),
                "stock_t1_tC": c.stock_total(0),
                "stock_t2_tC": c.stock_total(1),
                "density_t1_tC_ha": c.density(0),
                "density_t2_tC_ha": c.density(1),
                "sink_tC_yr": c.sink.tc_yr_total(),
                "sink_tCO2_yr": c.sink.co2_yr_total(),
                "a1_U_sink_pct": a.u_sink_pct(),
                "a1_half_width_tCO2_yr": a.h_sink_tc_yr * CO2_PER_C,
            })
        })
        .collect();
    let j = serde_json::json!({
        "years": acc.years,
        "patches": acc.patch_counts,
        "patch_files": acc.patch_files,
        "units": acc.units.len(),
        "slivers_dropped": acc.slivers.len(),
        "repaired_polygons": acc.repairs.len(),
        "coverage_issues": acc.coverage.len(),
        "area_balance": {
            "area_year": acc.balance.area_year + 1,
            "patch_area_ha": acc.balance.patch_area_ha,
            "unit_area_ha": acc.balance.unit_area_ha,
            "gap_area_ha": acc.balance.gap_area_ha,
            "closure_area_rel": acc.balance.closure_area_rel,
            "closure_planar_rel": acc.balance.closure_planar_rel,
        },
        "monte_carlo": acc.mc.as_ref().map(|m| serde_json::json!({
            "draws": m.draws, "seed": m.seed,
            "region_sink_tCO2_yr": {"mean": m.region[2].mean * CO2_PER_C, "p2_5": m.region[2].p025 * CO2_PER_C, "p97_5": m.region[2].p975 * CO2_PER_C, "U_pct": m.region[2].u_pct()},
        })),
        "counties": counties,
        "timings_s": acc.timings.iter().map(|(k, v)| (k.clone(), *v)).collect::<std::collections::BTreeMap<_, _>>(),
        "config": cfg,
    });
    let text = serde_json::to_string_pretty(&j).map_err(|e| Error::data("run.json", e))?;
    write_file(&out.join("run.json"), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_helpers() {
        assert_eq!(num(2933.333, 2), "2,933.33");
        assert_eq!(num(-1234567.0, 0), "−1,234,567");
        assert_eq!(num(-0.0001, 1), "0.0");
        assert_eq!(base64(b"Man"), "TWFu");
        assert_eq!(base64(b"Ma"), "TWE=");
        assert_eq!(base64(b"M"), "TQ==");
        assert_eq!(esc("<a&b>"), "&lt;a&amp;b&gt;");
        assert_eq!(sig4(2.384500043393168), 2.385);
        assert_eq!(sig4(-0.17942047309605963), -0.1794);
        assert_eq!(sig4(9.580746005655373), 9.581);
    }
}
