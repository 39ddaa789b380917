//! Renders a [`Chart`] to SVG or PNG with plotters (pure Rust: the bitmap encoder and
//! ab_glyph text, no system graphics library).

use crate::ReportError;
use crate::chart::{Chart, Legend, Shape};
use crate::font::{FAMILY, ensure_font};
use crate::legend::{EVENT, dot, draw_legend, look, right_width};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// Image size in pixels (SVG user units); a legend beside the plot ([`Legend::Right`])
/// widens the image by its own width.
pub const SIZE: (u32, u32) = (1100, 700);

/// The image formats a chart can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Scalable vector graphics.
    Svg,
    /// Portable network graphics.
    Png,
}

impl Format {
    /// The format `path`'s extension names.
    pub fn of(path: &Path) -> Result<Format, ReportError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(ReportError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// Draws `chart` into `path` (`.svg` or `.png`).
pub fn render(chart: &Chart, path: &Path) -> Result<(), ReportError> {
    let format = Format::of(path)?;
    if chart.is_empty() {
        return Err(ReportError::Empty(format!(
            "the chart {:?} has no data",
            chart.title
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(ReportError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
        });
    }
    ensure_font()?;
    let fail = |message: String| ReportError::Draw {
        path: path.to_path_buf(),
        message,
    };
    let size = (SIZE.0 + right_width(chart), SIZE.1);
    match format {
        Format::Svg => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw_on(&root, chart).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))
        }
        Format::Png => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw_on(&root, chart).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))
        }
    }
}

/// Axis range covering `values` with a little air; `from_zero` starts it at 0.
fn range(values: impl Iterator<Item = f64>, from_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    if from_zero {
        lo = lo.min(0.0);
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    let pad = (hi - lo) * 0.05;
    (if from_zero && lo >= 0.0 { lo } else { lo - pad }, hi + pad)
}

fn draw_on<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> Result<(), String> {
    let e = |x: &dyn std::fmt::Display| x.to_string();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let notes_h = 26 * chart.notes.len() as i32 + if chart.notes.is_empty() { 0 } else { 10 };
    let (plot, notes) = root.split_vertically(SIZE.1 as i32 - notes_h);
    let (plot, beside) = if chart.legend == Legend::Right {
        let (p, b) = plot.split_horizontally(SIZE.0);
        (p, Some(b))
    } else {
        (plot, None)
    };
    let bars = chart.shape == Shape::Bars;
    let (x0, x1) = if bars {
        (-0.5, chart.categories.len().max(1) as f64 - 0.5)
    } else {
        range(chart.all_points().map(|p| p.0), false)
    };
    let (y0, mut y1) = range(chart.all_points().map(|p| p.1), true);
    if chart.y_headroom > 0.0 {
        let top = chart
            .all_points()
            .map(|p| p.1)
            .fold(f64::NEG_INFINITY, f64::max);
        y1 = y1.max(top * chart.y_headroom);
    }
    let mut cc = ChartBuilder::on(&plot)
        .caption(&chart.title, (FAMILY, 28))
        .margin(18)
        .x_label_area_size(64)
        .y_label_area_size(96)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|x| e(&x))?;
    let categories = chart.categories.clone();
    let category_of = move |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            categories.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let mut mesh = cc.configure_mesh();
    mesh.x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .axis_desc_style((FAMILY, 22))
        .label_style((FAMILY, 18))
        .light_line_style(RGBColor(235, 235, 235));
    if bars {
        mesh.x_labels(4 * chart.categories.len().max(1) + 1)
            .x_label_formatter(&category_of)
            .disable_x_mesh();
    } else {
        mesh.x_labels(10);
    }
    mesh.draw().map_err(|x| e(&x))?;

    let k = chart.series.len().max(1) as f64;
    for (i, s) in chart.series.iter().enumerate() {
        let (color, dashed) = look(i);
        let style = ShapeStyle::from(&color).stroke_width(3);
        let (w, left) = (0.8 / k, -0.4 + 0.8 / k * i as f64);
        // Whiskers (e.g. min–max over seeds) at the point, or at the middle of its bar;
        // black on bars so they show against the bar's own colour.
        let (whisker_x, whisker_color) = if bars {
            (left + w / 2.0, BLACK)
        } else {
            (0.0, color)
        };
        let ranged = || {
            s.points
                .iter()
                .zip(&s.whiskers)
                .filter(|(_, (lo, hi))| hi > lo)
                .map(|(&(x, y), &(lo, hi))| {
                    ErrorBar::new_vertical(
                        x + whisker_x,
                        lo,
                        y,
                        hi,
                        ShapeStyle::from(&whisker_color).stroke_width(2),
                        12,
                    )
                })
        };
        if bars {
            cc.draw_series(s.points.iter().map(|&(x, y)| {
                Rectangle::new([(x + left, 0.0), (x + left + w, y)], color.filled())
            }))
            .map_err(|x| e(&x))?;
        } else if dashed {
            cc.draw_series(DashedLineSeries::new(
                s.points.iter().copied(),
                10,
                6,
                style,
            ))
            .map_err(|x| e(&x))?;
        } else {
            cc.draw_series(LineSeries::new(s.points.iter().copied(), style))
                .map_err(|x| e(&x))?;
        }
        cc.draw_series(ranged()).map_err(|x| e(&x))?;
        if chart.shape == Shape::Lines {
            // map_coordinate gives pixels of the whole image, which is what `root` takes.
            for &p in &s.points {
                dot(root, cc.plotting_area().map_coordinate(&p), color, dashed)?;
            }
        }
    }
    for m in &chart.markers {
        let color = m.series.map_or(BLACK, |i| look(i).0);
        let style = ShapeStyle::from(&color).stroke_width(3);
        cc.draw_series(std::iter::once(TriangleMarker::new((m.x, m.y), 12, style)))
            .map_err(|x| e(&x))?;
    }
    for ev in &chart.events {
        let style = ShapeStyle::from(&EVENT).stroke_width(2);
        cc.draw_series(DashedLineSeries::new(
            vec![(ev.x, y0), (ev.x, y1)],
            8,
            6,
            style,
        ))
        .map_err(|x| e(&x))?;
    }
    match &beside {
        Some(b) => draw_legend(b, chart)?,
        None => draw_legend(&cc.plotting_area().strip_coord_spec(), chart)?,
    }
    for (i, n) in chart.notes.iter().enumerate() {
        notes
            .draw_text(
                n,
                &TextStyle::from((FAMILY, 16)).color(&RGBColor(70, 70, 70)),
                (24, 4 + 26 * i as i32),
            )
            .map_err(|x| e(&x))?;
    }
    Ok(())
}
