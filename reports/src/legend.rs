//! A chart's legend box: one entry per series, paper marker and kind of event line, each
//! with the glyph the plot draws it with, over a corner of the plot or beside it.

use crate::chart::{Chart, Legend, Shape};
use crate::font::FAMILY;
use plotters::coord::Shift;
use plotters::prelude::*;

/// The colours of series, in order; after the last, the colours repeat with dashed lines
/// and hollow square dots (see [`look`]).
pub(crate) const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// The red of event lines.
pub(crate) const EVENT: RGBColor = RGBColor(200, 0, 0);

const ROW: i32 = 26;
const PAD: i32 = 12;
/// Pixels from the top of the image to the top of a legend beside the plot (level with the
/// top of the plot, under the title).
const RIGHT_TOP: i32 = 60;

/// How series `i` is drawn: its colour, and whether it is dashed with hollow square dots
/// (every other round of [`COLORS`], so that no two of up to 16 series look alike).
pub(crate) fn look(i: usize) -> (RGBColor, bool) {
    (COLORS[i % COLORS.len()], (i / COLORS.len()) % 2 == 1)
}

/// What an entry shows before its text.
#[derive(Clone, Copy)]
enum Glyph {
    /// A series drawn with lines: a line with a dot.
    Line { color: RGBColor, dashed: bool },
    /// A curve without dots.
    Curve { color: RGBColor, dashed: bool },
    /// A bar series.
    Bar(RGBColor),
    /// A paper value.
    Marker(RGBColor),
    /// An event line.
    Event,
}

fn entries(chart: &Chart) -> Vec<(String, Glyph)> {
    let mut out: Vec<(String, Glyph)> = chart
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (color, dashed) = look(i);
            let glyph = match chart.shape {
                Shape::Lines => Glyph::Line { color, dashed },
                Shape::Curve => Glyph::Curve { color, dashed },
                Shape::Bars => Glyph::Bar(color),
            };
            (s.label.clone(), glyph)
        })
        .collect();
    out.extend(chart.markers.iter().map(|m| {
        let color = m.series.map_or(BLACK, |i| look(i).0);
        (m.label.clone(), Glyph::Marker(color))
    }));
    let mut seen = std::collections::BTreeSet::new();
    for ev in &chart.events {
        if seen.insert(ev.label.as_str()) {
            out.push((ev.label.clone(), Glyph::Event));
        }
    }
    out
}

/// A line from `x` to `x + 24` at `y`: solid, or two dashes.
fn line<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    style: ShapeStyle,
    dashed: bool,
) -> Result<(), String> {
    let e = |x: &dyn std::fmt::Display| x.to_string();
    let pieces: &[(i32, i32)] = if dashed {
        &[(0, 9), (15, 24)]
    } else {
        &[(0, 24)]
    };
    for &(a, b) in pieces {
        area.draw(&PathElement::new(vec![(x + a, y), (x + b, y)], style))
            .map_err(|x| e(&x))?;
    }
    Ok(())
}

fn draw_glyph<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    glyph: Glyph,
    (x, y): (i32, i32),
) -> Result<(), String> {
    let e = |x: &dyn std::fmt::Display| x.to_string();
    match glyph {
        Glyph::Line { color, dashed } | Glyph::Curve { color, dashed } => {
            line(area, (x, y), color.stroke_width(3), dashed)?;
            if let Glyph::Line { .. } = glyph {
                dot(area, (x + 12, y), color, dashed)?;
            }
        }
        Glyph::Bar(color) => area
            .draw(&Rectangle::new(
                [(x, y - 5), (x + 24, y + 5)],
                color.filled(),
            ))
            .map_err(|x| e(&x))?,
        Glyph::Marker(color) => area
            .draw(&TriangleMarker::new((x + 12, y), 9, color.stroke_width(3)))
            .map_err(|x| e(&x))?,
        Glyph::Event => line(area, (x, y), EVENT.stroke_width(2), true)?,
    }
    Ok(())
}

/// A series' dot at pixel `at`: a filled circle, or a hollow square for dashed series.
pub(crate) fn dot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    at: (i32, i32),
    color: RGBColor,
    hollow: bool,
) -> Result<(), String> {
    let e = |x: &dyn std::fmt::Display| x.to_string();
    if hollow {
        area.draw(&Rectangle::new(
            [(at.0 - 5, at.1 - 5), (at.0 + 5, at.1 + 5)],
            WHITE.filled(),
        ))
        .map_err(|x| e(&x))?;
        area.draw(&Rectangle::new(
            [(at.0 - 5, at.1 - 5), (at.0 + 5, at.1 + 5)],
            color.stroke_width(2),
        ))
        .map_err(|x| e(&x))
    } else {
        area.draw(&Circle::new(at, 5, color.filled()))
            .map_err(|x| e(&x))
    }
}

/// The legend box's size in pixels.
fn box_size(entries: &[(String, Glyph)]) -> Result<(i32, i32), plotters::style::FontError> {
    let font = FontDesc::from((FAMILY, 18));
    let mut text_w = 0;
    for (label, _) in entries {
        text_w = text_w.max(font.box_size(label)?.0 as i32);
    }
    Ok((
        PAD + 24 + 10 + text_w + PAD,
        PAD + ROW * entries.len() as i32,
    ))
}

/// The width of the strip beside the plot that a [`Legend::Right`] legend needs, pixels
/// (0 for other legends).
pub(crate) fn right_width(chart: &Chart) -> u32 {
    if chart.legend != Legend::Right {
        return 0;
    }
    // Without the font the chart cannot be drawn anyway; that error is reported there.
    box_size(&entries(chart)).map_or(0, |(w, _)| w as u32 + 2 * PAD as u32)
}

/// Draws `chart`'s legend in `area`: the plot's pixel area for a corner, or the strip
/// beside the plot for [`Legend::Right`]. Nothing when the chart has no entry.
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart,
) -> Result<(), String> {
    let e = |x: &dyn std::fmt::Display| x.to_string();
    let entries = entries(chart);
    if entries.is_empty() {
        return Ok(());
    }
    let font = TextStyle::from((FAMILY, 18));
    let (w, h) = box_size(&entries).map_err(|x| e(&x))?;
    let (area_w, area_h) = area.dim_in_pixel();
    let (area_w, area_h) = (area_w as i32, area_h as i32);
    let (x, y) = match chart.legend {
        Legend::UpperLeft => (PAD, PAD),
        Legend::UpperRight => (area_w - w - PAD, PAD),
        Legend::LowerRight => (area_w - w - PAD, area_h - h - PAD),
        Legend::Right => (0, RIGHT_TOP),
    };
    area.draw(&Rectangle::new(
        [(x, y), (x + w, y + h)],
        WHITE.mix(0.85).filled(),
    ))
    .map_err(|x| e(&x))?;
    area.draw(&Rectangle::new(
        [(x, y), (x + w, y + h)],
        BLACK.stroke_width(1),
    ))
    .map_err(|x| e(&x))?;
    for (i, (label, glyph)) in entries.iter().enumerate() {
        let cy = y + PAD / 2 + ROW * i as i32 + ROW / 2;
        draw_glyph(area, *glyph, (x + PAD, cy))?;
        area.draw(&Text::new(
            label.clone(),
            (x + PAD + 34, cy),
            font.pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Left,
                plotters::style::text_anchor::VPos::Center,
            )),
        ))
        .map_err(|x| e(&x))?;
    }
    Ok(())
}
