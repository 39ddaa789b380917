//! Draws a message-sequence chart (like the paper's Figs. 1 and 2) of a trace window: one
//! lifeline per node, an arrow per delivery from its send to its arrival, a crossed arrow
//! per drop, and marks for executions, completions, rejections and state events, one row
//! per event.

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
/// Where along a slanted arrow its label sits (0 at the send, 1 at the delivery).
const LABEL_AT: f64 = 0.7;

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

/// Where a send at `sent` sits among the rows, whose times are `times`, as a fractional
/// row index: at the first row at or after `sent` (no later than `row`, the delivery's own),
/// or between it and the row before in proportion to the times. A message sent before the
/// first row sits between it and a row -1 at `top_ns` (the earliest send shown).
pub fn send_row(times: &[u64], top_ns: u64, row: usize, sent: u64) -> f64 {
    let Some(last) = times.len().checked_sub(1) else {
        return -1.0;
    };
    let upto = &times[..=row.min(last)];
    let j = upto
        .iter()
        .position(|&t| t >= sent)
        .unwrap_or(upto.len() - 1);
    if upto[j] <= sent {
        return j as f64;
    }
    // t0 < sent < t1: t1 is the first row at or after `sent`, t0 the row before it, or the
    // top row when `sent` is before the first row.
    let (t0, t1) = if j == 0 {
        (top_ns.min(sent), upto[0])
    } else {
        (upto[j - 1], upto[j])
    };
    (j as f64 - 1.0) + (sent - t0) as f64 / (t1 - t0) as f64
}

/// The earliest send of a delivery in `w` when it is before the first event (the time of
/// the row above the first), or `None`.
fn top_ns(w: &Window) -> Option<u64> {
    let first = w.events.first()?.t_ns;
    w.events
        .iter()
        .filter_map(|e| match e.step {
            Step::Deliver {
                sent_ns: Some(s), ..
            } => Some(s),
            _ => None,
        })
        .min()
        .filter(|&s| s < first)
}

fn has_send_times(w: &Window) -> bool {
    w.events.iter().any(|e| {
        matches!(
            e.step,
            Step::Deliver {
                sent_ns: Some(_),
                ..
            }
        )
    })
}

fn notes(w: &Window) -> Vec<String> {
    let mut n = if has_send_times(w) {
        vec![
            "Time runs down: one row per event in trace order (not to scale).".to_string(),
            "Each arrow runs from its send to its delivery; × a message the network dropped."
                .to_string(),
        ]
    } else {
        vec![
            "One row per event in trace order; × a message the network dropped.".to_string(),
            "This trace has no send times (an older minlab): arrows are drawn at the delivery."
                .to_string(),
        ]
    };
    if w.messages_shown < w.messages_in_range {
        n.push(format!(
            "{} of {} messages in the time range shown; narrow --from/--to or raise --max-messages.",
            w.messages_shown, w.messages_in_range
        ));
    }
    n
}

/// The triangle of an arrow from `from` ending at `to` (None for a zero-length arrow).
fn arrow_head(from: (i32, i32), to: (i32, i32)) -> Option<Vec<(i32, i32)>> {
    let (dx, dy) = (f64::from(to.0 - from.0), f64::from(to.1 - from.1));
    let len = dx.hypot(dy);
    if len < 1.0 {
        return None;
    }
    let (ux, uy) = (dx / len, dy / len);
    let base = (f64::from(to.0) - 10.0 * ux, f64::from(to.1) - 10.0 * uy);
    let corner = |side: f64| {
        (
            (base.0 - side * 5.0 * uy).round() as i32,
            (base.1 + side * 5.0 * ux).round() as i32,
        )
    };
    Some(vec![to, corner(1.0), corner(-1.0)])
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
    let times: Vec<u64> = w.events.iter().map(|e| e.t_ns).collect();
    let y_of_row = |r: f64| TOP + (f64::from(ROW) * (r + 1.0)).round() as i32;
    // Sends before the first event: the top of the lifelines stands for the earliest.
    let top = top_ns(w);
    if let Some(t) = top {
        root.draw(&Text::new(
            format!("{:.3}", t as f64 / 1e6),
            (LEFT - 14, TOP),
            text(14, GREY, HPos::Right, VPos::Center),
        ))
        .map_err(|x| e(&x))?;
    }
    let mut arrow_labels: Vec<(String, (i32, i32), TextStyle)> = Vec::new();
    let mut mark_labels: Vec<(String, (i32, i32), TextStyle)> = Vec::new();
    for (row, ev) in w.events.iter().enumerate() {
        let y = TOP + ROW * (row as i32 + 1);
        root.draw(&Text::new(
            format!("{:.3}", ev.t_ns as f64 / 1e6),
            (LEFT - 14, y),
            text(14, GREY, HPos::Right, VPos::Center),
        ))
        .map_err(|x| e(&x))?;
        match &ev.step {
            Step::Deliver { from, to, msg, .. } | Step::Drop { from, to, msg } => {
                let dropped = matches!(ev.step, Step::Drop { .. });
                let color = if dropped { ALARM } else { color_of(msg) };
                let (x0, x1) = (x_of(from), x_of(to));
                let end = if dropped { x0 + (x1 - x0) * 3 / 5 } else { x1 };
                // A drop's time is its send; a delivery starts at its send's row, if known.
                let y0 = match ev.step {
                    Step::Deliver {
                        sent_ns: Some(sent),
                        ..
                    } => y_of_row(send_row(&times, top.unwrap_or(sent), row, sent)),
                    _ => y,
                };
                root.draw(&PathElement::new(
                    vec![(x0, y0), (end, y)],
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
                } else if let Some(head) = arrow_head((x0, y0), (x1, y)) {
                    root.draw(&Polygon::new(head, color.filled()))
                        .map_err(|x| e(&x))?;
                }
                let label = if dropped {
                    format!("{msg} (dropped)")
                } else {
                    msg.clone()
                };
                // Horizontal arrows are labelled in the middle; slanted ones nearer their
                // end, so that two arrows crossing between the same lifelines keep their
                // labels apart.
                let at = if y0 == y { 0.5 } else { LABEL_AT };
                let lerp = |a: i32, b: i32| a + (f64::from(b - a) * at).round() as i32;
                arrow_labels.push((
                    label,
                    (lerp(x0, end), lerp(y0, y) - 2),
                    text(13, color, HPos::Center, VPos::Bottom),
                ));
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
                mark_labels.push((
                    t.clone(),
                    (x + 9, y),
                    text(13, color, HPos::Left, VPos::Center),
                ));
            }
        }
    }
    // Labels over the lines, each on a light background; the marks' last, so an arrow
    // label never hides what happened at a node.
    for (label, pos, style) in arrow_labels.iter().chain(&mark_labels) {
        let (w_px, h_px) = root.estimate_text_size(label, style).map_err(|x| e(&x))?;
        let (w, h) = (w_px as i32, h_px as i32);
        let left = match style.pos.h_pos {
            HPos::Left => pos.0,
            HPos::Center => pos.0 - w / 2,
            HPos::Right => pos.0 - w,
        };
        let top = match style.pos.v_pos {
            VPos::Top => pos.1,
            VPos::Center => pos.1 - h / 2,
            VPos::Bottom => pos.1 - h,
        };
        root.draw(&Rectangle::new(
            [(left - 2, top), (left + w + 2, top + h)],
            WHITE.mix(0.8).filled(),
        ))
        .map_err(|x| e(&x))?;
        root.draw(&Text::new(label.clone(), *pos, style.clone()))
            .map_err(|x| e(&x))?;
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

    /// The two-point lines of an SVG that join different lifelines (the arrows), as
    /// `((x0, y0), (x1, y1))`.
    fn arrows(svg: &str) -> Vec<((i32, i32), (i32, i32))> {
        svg.split("points=\"")
            .skip(1)
            .filter_map(|rest| {
                let pts: Vec<(i32, i32)> = rest[..rest.find('"')?]
                    .split_whitespace()
                    .map(|p| {
                        let (x, y) = p.split_once(',').unwrap();
                        (x.parse().unwrap(), y.parse().unwrap())
                    })
                    .collect();
                match pts[..] {
                    [a, b] if a.0 != b.0 => Some((a, b)),
                    _ => None,
                }
            })
            .collect()
    }

    #[test]
    fn sends_sit_between_the_rows_of_their_times() {
        let times = [100, 200, 200, 400];
        assert_eq!(send_row(&times, 100, 3, 100), 0.0);
        assert_eq!(send_row(&times, 100, 3, 150), 0.5);
        assert_eq!(send_row(&times, 100, 3, 200), 1.0);
        assert_eq!(send_row(&times, 100, 3, 300), 2.5);
        assert_eq!(send_row(&times, 100, 3, 400), 3.0);
        // Before the first row: between it and the top row at the earliest send (20).
        assert_eq!(send_row(&times, 20, 3, 60), -0.5);
        assert_eq!(send_row(&times, 20, 3, 20), -1.0);
        // Never below the delivery's own row, and no panic on times out of order, a top
        // after the send, or no rows.
        assert_eq!(send_row(&times, 100, 1, 200), 1.0);
        assert_eq!(send_row(&[100, 300, 50, 200], 100, 3, 150), 0.25);
        assert_eq!(send_row(&[300, 100], 500, 1, 100), -1.0);
        assert_eq!(send_row(&[], 0, 0, 100), -1.0);
    }

    #[test]
    fn arrows_slant_from_the_send_and_old_traces_stay_horizontal() {
        if ensure_font().is_err() {
            eprintln!("no font on this machine; skipping");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let draw = |trace: &str| {
            let out = dir.path().join("seq.svg");
            let w = window(trace, Path::new("t"), 0, u64::MAX, 10).unwrap();
            render_sequence(&w, "test", &out).unwrap();
            std::fs::read_to_string(&out).unwrap()
        };
        let with_sends = "{\"t\":100,\"ev\":\"deliver\",\"from\":\"c0\",\"to\":\"r0\",\"msg\":\"REQUEST\",\"sent\":100}\n\
             {\"t\":300,\"ev\":\"deliver\",\"from\":\"r0\",\"to\":\"r1\",\"msg\":\"PREPARE#1\",\"sent\":100}\n\
             {\"t\":300,\"ev\":\"deliver\",\"from\":\"r0\",\"to\":\"r2\",\"msg\":\"PREPARE#1\",\"sent\":100}";
        let a = arrows(&draw(with_sends));
        assert_eq!(a.len(), 3, "{a:?}");
        // The REQUEST was sent and delivered at once: horizontal, on row 1.
        assert_eq!(a[0].0.1, a[0].1.1);
        // Both PREPAREs leave r0 at the REQUEST's row, the same point, and slant down to
        // rows 2 and 3.
        assert_eq!(a[1].0, a[2].0);
        assert_eq!(a[1].0.1, a[0].0.1);
        assert_eq!(a[1].1.1 - a[1].0.1, ROW);
        assert_eq!(a[2].1.1 - a[2].0.1, 2 * ROW);
        // A trace without send times (older minlab): every arrow horizontal.
        let old = with_sends.replace(",\"sent\":100", "");
        let svg = draw(&old);
        assert!(svg.contains("This trace has no send times"));
        let a = arrows(&svg);
        assert_eq!(a.len(), 3);
        assert!(a.iter().all(|(p, q)| p.1 == q.1), "{a:?}");
    }

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
