//! Choropleth maps of accounting units as PNG, drawn here without a plotting library: polygons
//! are filled by a scanline rule (even–odd over all rings, so holes stay empty) at pixel
//! centres, outlines drawn with Bresenham lines, the image encoded with the `png` crate.
//! Colour classes ([`Classes`]) have round-number breaks. Each PNG carries its own map
//! furniture ([`Furniture`]): a title, the legend with units, a hatched "no value" swatch and a
//! labelled scale bar, so that the file alone can be pasted into a report. Text is drawn with
//! plotters and a system TrueType font ([`crate::biomass::figures::font_available`]); without
//! a font the swatches and the bar are drawn without labels (and the caller says so).
//!
//! Palettes: sequential greens for carbon density (ColorBrewer YlGn), diverging red–blue for
//! the sink (ColorBrewer RdBu: red = net emission, blue = net removal), categorical for the
//! land-class change.
//!
//! See also: `report.rs`.

use super::geom::{Bbox, MultiPolygon};
use crate::{Error, Result};

/// An RGB colour.
pub type Rgb = [u8; 3];

/// Scale bar position: left end `SCALE_BAR_X` px from the left, `SCALE_BAR_FROM_BOTTOM` px
/// above the bottom of the map.
const SCALE_BAR_X: i64 = 12;
const SCALE_BAR_FROM_BOTTOM: i64 = 12;
/// Width of the legend panel right of the map, and height of the title band above it (px),
/// for a map 600 px wide; wider maps scale them (and the text) by [`furniture_scale`], so that
/// the file stays legible when a report shows it at page width.
const PANEL_PX: usize = 250;
const TITLE_PX: usize = 34;

/// Furniture scale factor for a map `width` px wide (1 up to 600 px).
fn furniture_scale(width: usize) -> usize {
    (width / 600).max(1)
}

/// The "no value" hatch at pixel (c, r).
fn no_value_px(c: i64, r: i64) -> Rgb {
    if (c + r).rem_euclid(6) < 2 {
        [150, 150, 150]
    } else {
        [255, 255, 255]
    }
}

/// An RGB raster canvas with a world → pixel transform.
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    px: Vec<u8>,
    x0: f64,
    y1: f64,
    /// Pixels per metre.
    scale: f64,
}

impl Canvas {
    /// A white canvas `width_px` wide showing `bbox` with a margin of 2 %.
    pub fn new(bbox: &Bbox, width_px: usize) -> Canvas {
        let m = 0.02 * bbox.width().max(bbox.height()).max(1.0);
        let (x0, x1, y0, y1) = (bbox.xmin - m, bbox.xmax + m, bbox.ymin - m, bbox.ymax + m);
        let width = width_px.max(16);
        let scale = width as f64 / (x1 - x0);
        let height = (((y1 - y0) * scale).ceil() as usize).max(16);
        Canvas {
            width,
            height,
            px: vec![255; width * height * 3],
            x0,
            y1,
            scale,
        }
    }

    fn to_px(&self, x: f64, y: f64) -> (f64, f64) {
        ((x - self.x0) * self.scale, (self.y1 - y) * self.scale)
    }

    fn put(&mut self, c: i64, r: i64, rgb: Rgb) {
        if c >= 0 && r >= 0 && (c as usize) < self.width && (r as usize) < self.height {
            let i = (r as usize * self.width + c as usize) * 3;
            self.px[i..i + 3].copy_from_slice(&rgb);
        }
    }

    /// Colour at a pixel (for tests).
    pub fn get(&self, c: usize, r: usize) -> Rgb {
        let i = (r * self.width + c) * 3;
        [self.px[i], self.px[i + 1], self.px[i + 2]]
    }

    /// Fills a multipolygon (even–odd rule at pixel centres).
    pub fn fill(&mut self, m: &MultiPolygon, rgb: Rgb) {
        self.fill_with(m, |_, _| rgb);
    }

    /// Fills a multipolygon with the "no value" hatch: grey diagonal lines on white, so that
    /// a missing value never looks like a light colour class.
    pub fn fill_no_value(&mut self, m: &MultiPolygon) {
        self.fill_with(m, no_value_px);
    }

    fn fill_with(&mut self, m: &MultiPolygon, rgb: impl Fn(i64, i64) -> Rgb) {
        let edges: Vec<((f64, f64), (f64, f64))> = m
            .polygons
            .iter()
            .flat_map(|p| p.rings())
            .flat_map(|r| (0..r.len()).map(move |i| (r[i], r[(i + 1) % r.len()])))
            .map(|(a, b)| (self.to_px(a[0], a[1]), self.to_px(b[0], b[1])))
            .collect();
        if edges.is_empty() {
            return;
        }
        let (mut rmin, mut rmax) = (f64::INFINITY, f64::NEG_INFINITY);
        for (a, b) in &edges {
            rmin = rmin.min(a.1).min(b.1);
            rmax = rmax.max(a.1).max(b.1);
        }
        let r0 = (rmin - 0.5).ceil().max(0.0) as usize;
        let r1 = ((rmax - 0.5).floor().max(-1.0) as i64).min(self.height as i64 - 1);
        let mut xs: Vec<f64> = Vec::new();
        for r in r0 as i64..=r1 {
            let yc = r as f64 + 0.5;
            xs.clear();
            for (a, b) in &edges {
                if (a.1 <= yc) != (b.1 <= yc) {
                    xs.push(a.0 + (yc - a.1) / (b.1 - a.1) * (b.0 - a.0));
                }
            }
            xs.sort_by(f64::total_cmp);
            for w in xs.chunks(2) {
                if let [xa, xb] = w {
                    let c0 = (xa - 0.5).ceil().max(0.0) as i64;
                    let c1 = ((xb - 0.5).floor() as i64).min(self.width as i64 - 1);
                    for c in c0..=c1 {
                        self.put(c, r, rgb(c, r));
                    }
                }
            }
        }
    }

    /// Draws the rings of a multipolygon.
    pub fn stroke(&mut self, m: &MultiPolygon, rgb: Rgb) {
        for r in m.polygons.iter().flat_map(|p| p.rings()) {
            for i in 0..r.len() {
                let a = self.to_px(r[i][0], r[i][1]);
                let b = self.to_px(r[(i + 1) % r.len()][0], r[(i + 1) % r.len()][1]);
                self.line(a, b, rgb);
            }
        }
    }

    fn line(&mut self, a: (f64, f64), b: (f64, f64), rgb: Rgb) {
        let (mut x0, mut y0) = (a.0.floor() as i64, a.1.floor() as i64);
        let (x1, y1) = (b.0.floor() as i64, b.1.floor() as i64);
        let dx = (x1 - x0).abs();
        let dy = -(y1 - y0).abs();
        let sx = if x0 < x1 { 1 } else { -1 };
        let sy = if y0 < y1 { 1 } else { -1 };
        let mut err = dx + dy;
        loop {
            self.put(x0, y0, rgb);
            if x0 == x1 && y0 == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x0 += sx;
            }
            if e2 <= dx {
                err += dx;
                y0 += sy;
            }
        }
    }

    /// A scale bar of `len_m` metres at the bottom-left corner (black, 3 px high, on a white
    /// box that leaves room for its labels above it).
    pub fn scale_bar(&mut self, len_m: f64) {
        let k = furniture_scale(self.width) as i64;
        let len = (len_m * self.scale).round() as i64;
        let (x, y) = (SCALE_BAR_X, self.height as i64 - SCALE_BAR_FROM_BOTTOM);
        for dx in -6..=len + 40 * k {
            for dy in -4..=26 * k {
                self.put(x + dx, y - dy, [255, 255, 255]);
            }
        }
        for dx in 0..=len {
            for dy in 0..3 * k {
                self.put(x + dx, y - dy, [0, 0, 0]);
            }
        }
        for tick in [0, len / 2, len] {
            for dy in 0..8 * k {
                self.put(x + tick, y - dy, [0, 0, 0]);
            }
        }
    }

    /// Metres per pixel.
    pub fn m_per_px(&self) -> f64 {
        1.0 / self.scale
    }

    /// PNG bytes.
    pub fn png(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            // Not `Best`: on the small benchmark county's four maps (1700 x 1268) `Default`
            // gives the same pixels in files 3 % smaller (png 0.17 pairs `Best` with a
            // different filter choice) and takes the account step from 0.93 to 0.50 s.
            enc.set_compression(png::Compression::Default);
            let mut w = enc.write_header().map_err(|e| Error::data("PNG", e))?;
            w.write_image_data(&self.px)
                .map_err(|e| Error::data("PNG", e))?;
        }
        Ok(out)
    }
}

/// Colour classes: `colors[i]` for values in `[breaks[i-1], breaks[i])`, `breaks.len() + 1`
/// colours.
#[derive(Debug, Clone, PartialEq)]
pub struct Classes {
    pub breaks: Vec<f64>,
    pub colors: Vec<Rgb>,
}

impl Classes {
    /// Colour of a value.
    pub fn color(&self, v: f64) -> Rgb {
        let k = self.breaks.iter().take_while(|b| v >= **b).count();
        self.colors[k.min(self.colors.len() - 1)]
    }

    /// Legend entries `(colour, label)` with `unit`.
    pub fn legend(&self, unit: &str) -> Vec<(Rgb, String)> {
        let f = |x: f64| {
            if x.abs() >= 100.0 || x == x.round() {
                format!("{x:.0}")
            } else if x.abs() >= 1.0 {
                format!("{x:.1}")
            } else {
                format!("{x:.2}")
            }
        };
        (0..self.colors.len())
            .map(|k| {
                let label = if k == 0 {
                    format!("< {} {unit}", f(self.breaks[0]))
                } else if k == self.breaks.len() {
                    format!("≥ {} {unit}", f(self.breaks[k - 1]))
                } else {
                    format!("{} – {} {unit}", f(self.breaks[k - 1]), f(self.breaks[k]))
                };
                (self.colors[k], label)
            })
            .collect()
    }
}

/// A "nice" round number near `x` (1, 2, 2.5, 5 × 10ⁿ).
pub fn nice(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return 0.0;
    }
    let e = 10f64.powf(x.log10().floor());
    let f = x / e;
    let n = if f < 1.5 {
        1.0
    } else if f < 2.25 {
        2.0
    } else if f < 3.5 {
        2.5
    } else if f < 7.5 {
        5.0
    } else {
        10.0
    };
    n * e
}

const YLGN: [Rgb; 7] = [
    [255, 255, 204],
    [217, 240, 163],
    [173, 221, 142],
    [120, 198, 121],
    [65, 171, 93],
    [35, 132, 67],
    [0, 90, 50],
];

const RDBU: [Rgb; 9] = [
    [178, 24, 43],
    [214, 96, 77],
    [244, 165, 130],
    [253, 219, 199],
    [240, 240, 240],
    [209, 229, 240],
    [146, 197, 222],
    [67, 147, 195],
    [33, 102, 172],
];

/// Sequential classes for non-negative values (e.g. density): six equal steps of a round
/// size over the 2nd–98th percentile range, so that classes keep their meaning when the
/// distribution is bimodal (cropland vs forest).
pub fn sequential(values: &[f64]) -> Classes {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let mut breaks: Vec<f64> = Vec::new();
    if !v.is_empty() {
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        let (lo, hi) = (q(0.02).max(0.0), q(0.98));
        let step = nice(((hi - lo) / 6.0).max(1e-9));
        let start = (lo / step).floor() * step + step;
        for k in 0..6 {
            let b = start + k as f64 * step;
            if b > 0.0 {
                breaks.push(b);
            }
        }
    }
    if breaks.is_empty() {
        breaks.push(1.0);
    }
    let n = breaks.len() + 1;
    let colors = (0..n)
        .map(|k| YLGN[(k * (YLGN.len() - 1)) / (n - 1).max(1)])
        .collect();
    Classes { breaks, colors }
}

/// Diverging classes symmetric around 0 (e.g. sink intensity): ±(a, 2a, 4a, 8a)-like round
/// breaks from the 95th percentile of |v|, the middle class "about zero".
pub fn diverging(values: &[f64]) -> Classes {
    let mut a: Vec<f64> = values
        .iter()
        .map(|x| x.abs())
        .filter(|x| x.is_finite())
        .collect();
    a.sort_by(f64::total_cmp);
    let top = if a.is_empty() {
        1.0
    } else {
        a[((a.len() - 1) as f64 * 0.95).round() as usize].max(1e-6)
    };
    let s = [nice(top / 8.0), nice(top / 4.0), nice(top / 2.0), nice(top)];
    let mut pos: Vec<f64> = Vec::new();
    for x in s {
        if x > 0.0 && pos.last().is_none_or(|l| x > *l) {
            pos.push(x);
        }
    }
    let mut breaks: Vec<f64> = pos.iter().rev().map(|x| -x).collect();
    breaks.extend(pos.iter().copied());
    let n = pos.len();
    // Colours: n reds, the neutral class, n blues.
    let mut colors: Vec<Rgb> = (0..n).map(|k| RDBU[4 - n + k]).collect();
    colors.push(RDBU[4]);
    colors.extend((0..n).map(|k| RDBU[5 + k]));
    Classes { breaks, colors }
}

/// What a map PNG says about itself: title, legend entries `(colour, label with unit)`, and
/// whether any unit has no value (then a hatched "no value" entry is added).
pub struct Furniture<'a> {
    pub title: &'a str,
    pub legend: Vec<(Rgb, String)>,
}

/// A scale-bar label: metres below 1 km, else kilometres.
pub fn distance_label(m: f64) -> String {
    if m >= 1000.0 {
        let km = m / 1000.0;
        if km == km.round() {
            format!("{km:.0} km")
        } else {
            format!("{km} km")
        }
    } else {
        format!("{m:.0} m")
    }
}

/// Renders units coloured by `value` (hatched where `None`) with thin outlines, a labelled
/// scale bar, and `furniture` (title above, legend right). Returns the PNG and the scale-bar
/// length in metres.
pub fn choropleth(
    geoms: &[&MultiPolygon],
    values: &[Option<f64>],
    classes: &Classes,
    width_px: usize,
    furniture: &Furniture,
) -> Result<(Vec<u8>, f64)> {
    let mut bbox = Bbox::EMPTY;
    for g in geoms {
        bbox = bbox.union(&g.bbox());
    }
    if bbox.is_empty() {
        return Err(Error::data("map", "no geometry to draw"));
    }
    let mut cv = Canvas::new(&bbox, width_px);
    for (g, v) in geoms.iter().zip(values) {
        match v {
            Some(v) => cv.fill(g, classes.color(*v)),
            None => cv.fill_no_value(g),
        }
    }
    for g in geoms {
        cv.stroke(g, [120, 120, 120]);
    }
    let bar = nice(bbox.width() / 5.0);
    cv.scale_bar(bar);
    let any_missing = values.iter().any(|v| v.is_none());
    let text = crate::biomass::figures::font_available();
    let page = compose(&cv, bar, furniture, any_missing, text)?;
    Ok((page.png()?, bar))
}

/// The map with its title band and legend panel, as one canvas.
fn compose(
    map: &Canvas,
    bar_m: f64,
    f: &Furniture,
    any_missing: bool,
    text: bool,
) -> Result<Canvas> {
    let k = furniture_scale(map.width);
    let (panel, title, row) = (PANEL_PX * k, TITLE_PX * k, 22 * k);
    let entries = f.legend.len() + usize::from(any_missing);
    let width = map.width + panel;
    let height = (map.height + title).max(title + 40 * k + row * entries);
    let mut page = Canvas {
        width,
        height,
        px: vec![255; width * height * 3],
        x0: 0.0,
        y1: 0.0,
        scale: 1.0,
    };
    for r in 0..map.height {
        let src = &map.px[r * map.width * 3..(r + 1) * map.width * 3];
        let at = ((r + title) * width) * 3;
        page.px[at..at + src.len()].copy_from_slice(src);
    }
    // Legend swatches (16 × 14 px at scale 1, outlined).
    let x0 = (map.width + 14 * k) as i64;
    let y_first = (title + 36 * k) as i64;
    let (sw, sh) = (16 * k as i64, 14 * k as i64);
    let swatch = |page: &mut Canvas, i: usize, fill: &dyn Fn(i64, i64) -> Rgb| {
        let y = y_first + (i * row) as i64;
        for dy in 0..sh {
            for dx in 0..sw {
                let edge = dx == 0 || dy == 0 || dx == sw - 1 || dy == sh - 1;
                let c = if edge { [100, 100, 100] } else { fill(dx, dy) };
                page.put(x0 + dx, y + dy, c);
            }
        }
    };
    for (i, (c, _)) in f.legend.iter().enumerate() {
        let c = *c;
        swatch(&mut page, i, &move |_, _| c);
    }
    if any_missing {
        swatch(&mut page, f.legend.len(), &no_value_px);
    }
    if text {
        let at = TextLayout {
            k,
            title,
            x0,
            y_first,
            row,
        };
        draw_text(&mut page, map, bar_m, f, any_missing, &at)
            .map_err(|e| Error::data("map", format!("drawing text: {e}")))?;
    }
    Ok(page)
}

/// Where the furniture's text goes (px) and at what scale.
struct TextLayout {
    k: usize,
    title: usize,
    x0: i64,
    y_first: i64,
    row: usize,
}

fn draw_text(
    page: &mut Canvas,
    map: &Canvas,
    bar_m: f64,
    f: &Furniture,
    any_missing: bool,
    at: &TextLayout,
) -> std::result::Result<(), String> {
    use plotters::prelude::*;
    let k = at.k as u32;
    let (w, h) = (page.width as u32, page.height as u32);
    let root = BitMapBackend::with_buffer(&mut page.px, (w, h)).into_drawing_area();
    let font = |size: u32| ("sans-serif", size * k).into_font().color(&BLACK);
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let ki = k as i32;
    root.draw(&Text::new(f.title.to_string(), (10 * ki, 9 * ki), font(17)))
        .map_err(e)?;
    root.draw(&Text::new(
        "Legend".to_string(),
        (at.x0 as i32, at.y_first as i32 - 26 * ki),
        font(15),
    ))
    .map_err(e)?;
    let labels = f
        .legend
        .iter()
        .map(|(_, l)| l.as_str())
        .chain(any_missing.then_some("no value"));
    for (i, label) in labels.enumerate() {
        let y = at.y_first as i32 + (i * at.row) as i32;
        root.draw(&Text::new(
            label.to_string(),
            (at.x0 as i32 + 24 * ki, y),
            font(13),
        ))
        .map_err(e)?;
    }
    // Scale-bar labels above its ends and middle; "north is up" under the legend.
    let bar_px = (bar_m * map.scale).round() as i32;
    let y = (at.title + map.height) as i32 - SCALE_BAR_FROM_BOTTOM as i32 - 24 * ki;
    let x = SCALE_BAR_X as i32;
    for (dx, label) in [
        (0, "0".to_string()),
        (bar_px / 2, distance_label(bar_m / 2.0)),
        (bar_px, distance_label(bar_m)),
    ] {
        root.draw(&Text::new(label, (x + dx - 3, y), font(11)))
            .map_err(e)?;
    }
    root.draw(&Text::new(
        "north is up".to_string(),
        (at.x0 as i32, h as i32 - 20 * ki),
        font(11),
    ))
    .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::geom::Polygon;
    use super::*;

    #[test]
    fn scanline_fill_respects_holes() {
        let mut p = Polygon::rect(0.0, 0.0, 100.0, 100.0);
        p.holes
            .push(vec![[40.0, 40.0], [40.0, 60.0], [60.0, 60.0], [60.0, 40.0]]);
        let m = MultiPolygon::single(p);
        let mut c = Canvas::new(&m.bbox(), 104);
        c.fill(&m, [255, 0, 0]);
        // 104 px over 104 m: 1 px per m, origin at -2 m.
        assert_eq!(c.get(12, 12), [255, 0, 0]);
        assert_eq!(c.get(52, 52), [255, 255, 255], "hole must stay empty");
        assert_eq!(c.get(1, 1), [255, 255, 255], "margin");
        let png = c.png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let filled = (0..c.height)
            .flat_map(|r| (0..c.width).map(move |k| (r, k)))
            .filter(|(r, k)| c.get(*k, *r) == [255, 0, 0])
            .count();
        assert!((filled as f64 - 9600.0).abs() < 250.0, "{filled}");
    }

    #[test]
    fn classes_are_round_and_ordered() {
        assert_eq!(nice(37.0), 50.0);
        assert_eq!(nice(0.23), 0.25);
        let s = sequential(&(0..100).map(|i| i as f64).collect::<Vec<_>>());
        assert!(s.breaks.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(s.colors.len(), s.breaks.len() + 1);
        let d = diverging(&[-10.0, -1.0, 0.0, 2.0, 40.0]);
        assert_eq!(d.color(0.0), RDBU[4]);
        assert_eq!(d.colors.len(), d.breaks.len() + 1);
        assert!(d.color(-100.0)[0] > 150, "strong emission is red");
        assert!(d.color(100.0)[2] > 150, "strong removal is blue");
        assert!(d.legend("t").len() == d.colors.len());
    }

    #[test]
    fn png_carries_its_legend_scale_bar_and_a_hatched_no_value() {
        let a = MultiPolygon::single(Polygon::rect(0.0, 0.0, 500.0, 1000.0));
        let b = MultiPolygon::single(Polygon::rect(500.0, 0.0, 1000.0, 1000.0));
        let classes = sequential(&[10.0, 20.0, 30.0, 40.0, 50.0, 60.0]);
        let f = Furniture {
            title: "Carbon density 2020 (t C/ha)",
            legend: classes.legend("t C/ha"),
        };
        let mut cv = Canvas::new(&a.bbox().union(&b.bbox()), 400);
        cv.fill(&a, classes.color(35.0));
        cv.fill_no_value(&b);
        let text = crate::biomass::figures::font_available();
        let page = compose(&cv, 200.0, &f, true, text).unwrap();
        assert_eq!(page.width, cv.width + PANEL_PX);
        // The map sits below the title band, unchanged.
        assert_eq!(page.get(100, TITLE_PX + 200), classes.color(35.0));
        // "No value" is hatched: both hatch colours inside unit b, never one flat grey.
        let hatch: std::collections::BTreeSet<Rgb> =
            (300..340).map(|c| page.get(c, TITLE_PX + 200)).collect();
        assert!(
            hatch.contains(&[150, 150, 150]) && hatch.contains(&[255, 255, 255]),
            "{hatch:?}"
        );
        // One swatch per class, then the hatched "no value" swatch, in the panel.
        let x = cv.width + 14 + 8;
        for (k, (c, _)) in f.legend.iter().enumerate() {
            assert_eq!(page.get(x, TITLE_PX + 36 + k * 22 + 7), *c, "swatch {k}");
        }
        let y_nv = TITLE_PX + 36 + f.legend.len() * 22;
        let nv: std::collections::BTreeSet<Rgb> = (1..15)
            .map(|dx| page.get(cv.width + 14 + dx, y_nv + 6))
            .collect();
        assert!(nv.contains(&[150, 150, 150]), "{nv:?}");
        // Labels are drawn (dark pixels right of the swatches, and in the title band) when a
        // font is installed (scripts/setup.sh installs fonts-dejavu-core).
        if text {
            let dark = |c0: usize, c1: usize, r0: usize, r1: usize| {
                (r0..r1)
                    .flat_map(|r| (c0..c1).map(move |c| (c, r)))
                    .filter(|(c, r)| page.get(*c, *r).iter().all(|v| *v < 90))
                    .count()
            };
            assert!(dark(0, 300, 0, TITLE_PX) > 50, "title");
            assert!(
                dark(cv.width + 38, page.width, TITLE_PX + 36, y_nv + 14) > 100,
                "labels"
            );
        } else {
            eprintln!("SKIP text part: no TrueType font found (install fonts-dejavu-core)");
        }
        assert_eq!(distance_label(2500.0), "2.5 km");
        assert_eq!(distance_label(250.0), "250 m");
    }
}
