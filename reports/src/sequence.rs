//! Draws a message-sequence chart (like the paper's Figs. 1 and 2) of a trace window: one
//! lifeline per node, an arrow per delivery, a crossed arrow per drop, and marks for
//! executions, completions, rejections and state events, one row per event.

use crate::ReportError;
use crate::draw::Format;
use crate::font::{FAMILY, ensure_font};
use crate::trace::{Step, Window};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// The most messages a chart shows; more would not be legible.
pub const MAX_MESSAGES: usize = 200;

const LEFT: i32 = 120;
const COLUMN: i32 = 170;
const TOP: i32 = 86;
const ROW: i32 = 26;
const NOTE: i32 = 24;

const COLORS: [RGBColor; 7] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
];
const ALARM: RGBColor = RGBColor(214, 39, 40);
const GREY: RGBColor = RGBColor(120, 120, 120);

/// The nodes of `w` in lifeline order: clients first (as in the paper's figures), then
/// replicas, each by number.
pub fn lifelines(w: &Window) -> Vec<String> {
    let key = |n: &str| {
        let (kind, num) = n.split_at(n.len().min(1));
        let rank = match kind {
            "c" => 0,
            "r" => 1,
            _ => 2,
        };
        (rank, num.parse::<u64>().unwrap_or(u64::MAX), n.to_string())
    };
    let mut nodes: Vec<_> = w
        .events
        .iter()
        .flat_map(|e| e.step.nodes())
        .map(key)
        .collect();
    nodes.sort();
    nodes.dedup();
    nodes.into_iter().map(|k| k.2).collect()
}

/// Draws `w` into `path` (`.svg` or `.png`); `title` heads the chart.
pub fn render_sequence(w: &Window, title: &str, path: &Path) -> Result<(), ReportError> {
    let format = Format::of(path)?;
    if w.events.is_empty() {
        return Err(ReportError::Empty("the trace window has no event".into()));
    }
    ensure_font()?;
    let nodes = lifelines(w);
    let notes = notes(w);
    let width = (LEFT + COLUMN * nodes.len() as i32 + 130).max(900) as u32;
    let height = (TOP + ROW * (w.events.len() as i32 + 1) + NOTE * notes.len() as i32 + 16) as u32;
    let fail = |message: String| ReportError::Draw {
        path: path.to_path_buf(),
        message,
    };
    match format {
        Format::Svg => {
            let root = SVGBackend::new(path, (width, height)).into_drawing_area();
            draw(&root, w, &nodes, title, &notes).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))
        }
        Format::Png => {
            let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
            draw(&root, w, &nodes, title, &notes).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))
        }
    }
}

fn notes(w: &Window) -> Vec<String> {
    let mut n = vec![
        "One row per event in trace order; arrows end at the delivery time (the trace records \
         arrivals, not sends); × a message the network dropped."
            .to_string(),
    ];
    if w.messages_shown < w.messages_in_range {
        n.push(format!(
            "{} of {} messages in the time range shown; narrow --from/--to or raise --max-messages.",
            w.messages_shown, w.messages_in_range
        ));
    }
    n
}

fn kind_of(msg: &str) -> &str {
    msg.split('#').next().unwrap_or(msg)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    w: &Window,
    nodes: &[String],
    title: &str,
    notes: &[String],
) -> Result<(), String> {
    let e = |x: &dyn std::fmt::Display| x.to_string();
    root.fill(&WHITE).map_err(|x| e(&x))?;
    let (_, height) = root.dim_in_pixel();
    let x_of = |n: &str| {
        let i = nodes.iter().position(|m| m == n).unwrap_or(0) as i32;
        LEFT + COLUMN * i + COLUMN / 2
    };
    let bottom = TOP + ROW * (w.events.len() as i32 + 1) - ROW / 2;
    fn text(size: u32, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
        TextStyle {
            font: (FAMILY, size).into(),
            color: color.to_backend_color(),
            pos: Pos::new(h, v),
        }
    }
    root.draw(&Text::new(
        title.to_string(),
        (20, 14),
        text(20, BLACK, HPos::Left, VPos::Top),
    ))
    .map_err(|x| e(&x))?;
    root.draw(&Text::new(
        "time (ms)".to_string(),
        (LEFT - 14, TOP - 14),
        text(14, GREY, HPos::Right, VPos::Bottom),
    ))
    .map_err(|x| e(&x))?;
    for n in nodes {
        let x = x_of(n);
        root.draw(&Text::new(
            n.clone(),
            (x, TOP - 14),
            text(18, BLACK, HPos::Center, VPos::Bottom),
        ))
        .map_err(|x| e(&x))?;
        root.draw(&PathElement::new(
            vec![(x, TOP - 8), (x, bottom)],
            ShapeStyle::from(&GREY).stroke_width(1),
        ))
        .map_err(|x| e(&x))?;
    }
    let mut kinds: Vec<String> = Vec::new();
    let mut color_of = |msg: &str| {
        let k = kind_of(msg);
        let i = kinds.iter().position(|x| x == k).unwrap_or_else(|| {
            kinds.push(k.to_string());
            kinds.len() - 1
        });
        COLORS[i % COLORS.len()]
    };
    for (row, ev) in w.events.iter().enumerate() {
        let y = TOP + ROW * (row as i32 + 1);
        root.draw(&Text::new(
            format!("{:.3}", ev.t_ns as f64 / 1e6),
            (LEFT - 14, y),
            text(14, GREY, HPos::Right, VPos::Center),
        ))
        .map_err(|x| e(&x))?;
        match &ev.step {
            Step::Deliver { from, to, msg } | Step::Drop { from, to, msg } => {
                let dropped = matches!(ev.step, Step::Drop { .. });
                let color = if dropped { ALARM } else { color_of(msg) };
                let (x0, x1) = (x_of(from), x_of(to));
                let dir = if x1 >= x0 { 1 } else { -1 };
                let end = if dropped { x0 + (x1 - x0) * 3 / 5 } else { x1 };
                root.draw(&PathElement::new(
                    vec![(x0, y), (end, y)],
                    ShapeStyle::from(&color).stroke_width(2),
                ))
                .map_err(|x| e(&x))?;
                if dropped {
                    root.draw(&Cross::new(
                        (end, y),
                        6,
                        ShapeStyle::from(&ALARM).stroke_width(3),
                    ))
                    .map_err(|x| e(&x))?;
                } else {
                    root.draw(&Polygon::new(
                        vec![(x1, y), (x1 - dir * 10, y - 5), (x1 - dir * 10, y + 5)],
                        color.filled(),
                    ))
                    .map_err(|x| e(&x))?;
                }
                let label = if dropped {
                    format!("{msg} (dropped)")
                } else {
                    msg.clone()
                };
                root.draw(&Text::new(
                    label,
                    ((x0 + end) / 2, y - 2),
                    text(13, color, HPos::Center, VPos::Bottom),
                ))
                .map_err(|x| e(&x))?;
            }
            Step::Mark {
                node,
                text: t,
                alarm,
            } => {
                let x = x_of(node);
                let color = if *alarm { ALARM } else { BLACK };
                root.draw(&Rectangle::new(
                    [(x - 5, y - 5), (x + 5, y + 5)],
                    color.filled(),
                ))
                .map_err(|x| e(&x))?;
                root.draw(&Text::new(
                    t.clone(),
                    (x + 9, y),
                    text(13, color, HPos::Left, VPos::Center),
                ))
                .map_err(|x| e(&x))?;
            }
        }
    }
    for (i, n) in notes.iter().enumerate() {
        root.draw(&Text::new(
            n.clone(),
            (
                20,
                height as i32 - 8 - NOTE * (notes.len() - i) as i32 + NOTE / 2,
            ),
            text(14, RGBColor(70, 70, 70), HPos::Left, VPos::Center),
        ))
        .map_err(|x| e(&x))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::window;

    const TRACE: &str = r#"{"t":100,"ev":"deliver","from":"c2","to":"r1","msg":"REQUEST"}
{"t":200,"ev":"drop","from":"r0","to":"r10","msg":"PREPARE#1"}
{"t":300,"ev":"reject","node":"r2","from":"r0","msg":"PREPARE","reason":"BadUi"}
{"t":400,"ev":"execute","replica":1,"position":0,"client":2,"seq":1}
"#;

    #[test]
    fn lifelines_put_clients_first_and_order_by_number() {
        let w = window(TRACE, Path::new("t"), 0, u64::MAX, 10).unwrap();
        assert_eq!(lifelines(&w), ["c2", "r0", "r1", "r2", "r10"]);
    }

    #[test]
    fn draws_arrows_drops_and_marks_as_svg() {
        if ensure_font().is_err() {
            eprintln!("no font on this machine; skipping");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("seq.svg");
        let w = window(TRACE, Path::new("t"), 0, u64::MAX, 10).unwrap();
        render_sequence(&w, "test", &out).unwrap();
        let svg = std::fs::read_to_string(&out).unwrap();
        for s in [
            "REQUEST",
            "PREPARE#1 (dropped)",
            "reject PREPARE from r0",
            "exec c2#1 @0",
            "r10",
        ] {
            assert!(svg.contains(s), "{s} missing");
        }
        assert!(matches!(
            render_sequence(&w, "x", &dir.path().join("x.gif")),
            Err(ReportError::UnknownFormat { .. })
        ));
    }
}
