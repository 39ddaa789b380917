//! Reads a `minlab run --trace` JSON-lines file into the events a message-sequence chart
//! shows, cut to a window, with clear errors for lines that are not trace events.

use crate::ReportError;
use serde_json::Value;
use std::path::Path;

/// What happened in one trace line, as the sequence chart draws it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A message arrived at `to` (at the event's time).
    Deliver {
        /// Sender, e.g. `r0` or `c2`.
        from: String,
        /// Receiver.
        to: String,
        /// Message name with its UI counter, e.g. `PREPARE#1`.
        msg: String,
        /// When `from` sent it, ns (`None` in traces of a minlab from before send times
        /// were recorded).
        sent_ns: Option<u64>,
    },
    /// The network lost a message as `from` sent it.
    Drop {
        /// Sender.
        from: String,
        /// Intended receiver.
        to: String,
        /// Message name.
        msg: String,
    },
    /// Something happened at one node: an execution, a completion, a rejection, a state
    /// event, a view change, a fault or a restart.
    Mark {
        /// The node, e.g. `r1`.
        node: String,
        /// Short text, e.g. `exec c2#1 @0`.
        text: String,
        /// Whether it is bad news (a rejection, a fault, a violation).
        alarm: bool,
    },
}

impl Step {
    /// Whether this step is a message (a delivery or a drop).
    pub fn is_message(&self) -> bool {
        matches!(self, Step::Deliver { .. } | Step::Drop { .. })
    }

    /// The nodes it touches.
    pub fn nodes(&self) -> Vec<&str> {
        match self {
            Step::Deliver { from, to, .. } | Step::Drop { from, to, .. } => vec![from, to],
            Step::Mark { node, .. } => vec![node],
        }
    }
}

/// One trace event at virtual time `t_ns`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// Virtual time, ns.
    pub t_ns: u64,
    /// What happened.
    pub step: Step,
}

/// The part of a trace a chart shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// The events shown, in trace order.
    pub events: Vec<TraceEvent>,
    /// Messages (deliveries and drops) in the requested time range, shown or not.
    pub messages_in_range: usize,
    /// Messages shown.
    pub messages_shown: usize,
}

fn field<'a>(v: &'a Value, name: &str, line: usize) -> Result<&'a str, String> {
    v.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("line {line}: no string \"{name}\""))
}

fn number(v: &Value, name: &str, line: usize) -> Result<u64, String> {
    v.get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("line {line}: no unsigned integer \"{name}\""))
}

fn node_of(v: &Value, line: usize) -> Result<String, String> {
    if let Some(r) = v.get("replica").and_then(Value::as_u64) {
        return Ok(format!("r{r}"));
    }
    if let Some(c) = v.get("client").and_then(Value::as_u64) {
        return Ok(format!("c{c}"));
    }
    field(v, "node", line).map(str::to_string)
}

/// Parses one trace line (1-based `line` for messages); `Ok(None)` for events the chart
/// does not show (timers, and kinds this version does not know).
pub fn parse_line(text: &str, line: usize) -> Result<Option<TraceEvent>, String> {
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("line {line}: not JSON ({e})"))?;
    if !v.is_object() {
        return Err(format!("line {line}: not a JSON object"));
    }
    let t_ns = number(&v, "t", line)?;
    let ev = field(&v, "ev", line)?;
    let mark = |text: String, alarm: bool| -> Result<Step, String> {
        Ok(Step::Mark {
            node: node_of(&v, line)?,
            text,
            alarm,
        })
    };
    let opt = |name: &str| {
        v.get(name)
            .map(|x| x.to_string().trim_matches('"').to_string())
    };
    let step = match ev {
        "deliver" | "drop" => {
            let from = field(&v, "from", line)?.to_string();
            let to = field(&v, "to", line)?.to_string();
            let msg = field(&v, "msg", line)?.to_string();
            if ev == "deliver" {
                let sent_ns = match v.get("sent") {
                    None => None,
                    Some(_) => {
                        let sent = number(&v, "sent", line)?;
                        if sent > t_ns {
                            return Err(format!(
                                "line {line}: \"sent\" ({sent}) is after the delivery (\"t\": {t_ns})"
                            ));
                        }
                        Some(sent)
                    }
                };
                Step::Deliver {
                    from,
                    to,
                    msg,
                    sent_ns,
                }
            } else {
                Step::Drop { from, to, msg }
            }
        }
        "execute" => mark(
            format!(
                "exec c{}#{} @{}",
                opt("client").unwrap_or_default(),
                opt("seq").unwrap_or_default(),
                opt("position").unwrap_or_default()
            ),
            false,
        )?,
        "complete" => {
            let latency = number(&v, "latency_ns", line)?;
            mark(
                format!(
                    "done #{} ({:.3} ms)",
                    opt("seq").unwrap_or_default(),
                    latency as f64 / 1e6
                ),
                false,
            )?
        }
        "reject" => mark(
            format!(
                "reject {} from {}",
                field(&v, "msg", line)?,
                field(&v, "from", line)?
            ),
            true,
        )?,
        "state" => mark(field(&v, "what", line)?.to_string(), false)?,
        "view" => mark(format!("view {}", number(&v, "view", line)?), false)?,
        "state-transfer" => mark(
            format!("state transfer @{}", opt("position").unwrap_or_default()),
            false,
        )?,
        "fault" => mark(format!("fault: {}", field(&v, "kind", line)?), true)?,
        "restart" => mark("restart".into(), false)?,
        "violation" => Step::Mark {
            node: "r0".into(),
            text: format!("VIOLATION: {}", field(&v, "property", line)?),
            alarm: true,
        },
        _ => return Ok(None),
    };
    Ok(Some(TraceEvent { t_ns, step }))
}

/// Reads `text` (a trace file's contents) and keeps the events in `[from_ns, to_ns]`, up
/// to the first `max_messages` messages (and the marks before the next one).
pub fn window(
    text: &str,
    path: &Path,
    from_ns: u64,
    to_ns: u64,
    max_messages: usize,
) -> Result<Window, ReportError> {
    let bad = |message: String| ReportError::Input {
        path: path.to_path_buf(),
        message: format!("{message}; expected a `minlab run --trace` JSON-lines file"),
    };
    let mut w = Window {
        events: Vec::new(),
        messages_in_range: 0,
        messages_shown: 0,
    };
    let mut full = false;
    let mut any = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        any = true;
        let Some(e) = parse_line(line, i + 1).map_err(bad)? else {
            continue;
        };
        if e.t_ns < from_ns || e.t_ns > to_ns {
            continue;
        }
        if e.step.is_message() {
            w.messages_in_range += 1;
            if w.messages_shown == max_messages {
                full = true;
            }
            if !full {
                w.messages_shown += 1;
            }
        }
        if !full {
            w.events.push(e);
        }
    }
    if !any {
        return Err(bad("the file is empty".into()));
    }
    if w.events.is_empty() {
        return Err(ReportError::Empty(format!(
            "{}: no event between {from_ns} ns and {to_ns} ns",
            path.display()
        )));
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_simulators_lines() {
        let d = parse_line(
            r#"{"t":5,"ev":"deliver","from":"r0","to":"r2","msg":"PREPARE#1","sent":3}"#,
            1,
        )
        .unwrap()
        .unwrap();
        assert_eq!(d.t_ns, 5);
        assert!(
            matches!(d.step, Step::Deliver { ref msg, sent_ns: Some(3), .. } if msg == "PREPARE#1")
        );
        // A trace from before send times were recorded: the delivery has none.
        let old = parse_line(
            r#"{"t":5,"ev":"deliver","from":"r0","to":"r2","msg":"PREPARE#1"}"#,
            1,
        )
        .unwrap()
        .unwrap();
        assert!(matches!(old.step, Step::Deliver { sent_ns: None, .. }));
        let x = parse_line(
            r#"{"t":7,"ev":"execute","replica":2,"position":0,"client":2,"seq":1}"#,
            2,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            x.step,
            Step::Mark {
                node: "r2".into(),
                text: "exec c2#1 @0".into(),
                alarm: false
            }
        );
        let c = parse_line(
            r#"{"t":9,"ev":"complete","client":2,"seq":1,"latency_ns":590548}"#,
            3,
        )
        .unwrap()
        .unwrap();
        assert!(
            matches!(c.step, Step::Mark { ref node, ref text, .. } if node == "c2" && text == "done #1 (0.591 ms)")
        );
        assert_eq!(parse_line(r#"{"t":9,"ev":"timer"}"#, 4).unwrap(), None);
    }

    #[test]
    fn rejects_what_is_not_a_trace_line() {
        for (bad, why) in [
            ("{", "line 1: not JSON"),
            ("[1]", "line 1: not a JSON object"),
            (r#"{"ev":"deliver"}"#, "line 1: no unsigned integer \"t\""),
            (r#"{"t":-3,"ev":"deliver"}"#, "no unsigned integer \"t\""),
            (r#"{"t":3}"#, "no string \"ev\""),
            (r#"{"t":3,"ev":"deliver","from":"r0"}"#, "no string \"to\""),
            (r#"{"t":3,"ev":"execute"}"#, "no string \"node\""),
            (
                r#"{"t":3,"ev":"deliver","from":"r0","to":"r1","msg":"X","sent":"2"}"#,
                "no unsigned integer \"sent\"",
            ),
            (
                r#"{"t":3,"ev":"deliver","from":"r0","to":"r1","msg":"X","sent":-1}"#,
                "no unsigned integer \"sent\"",
            ),
            (
                r#"{"t":3,"ev":"deliver","from":"r0","to":"r1","msg":"X","sent":4}"#,
                "line 1: \"sent\" (4) is after the delivery (\"t\": 3)",
            ),
        ] {
            let e = parse_line(bad, 1).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn the_window_keeps_the_range_and_the_message_budget() {
        let text = (0..10)
            .map(|i| {
                format!(
                    "{{\"t\":{i},\"ev\":\"deliver\",\"from\":\"c0\",\"to\":\"r0\",\"msg\":\"REQUEST\"}}\n\
                     {{\"t\":{i},\"ev\":\"execute\",\"replica\":0,\"position\":{i},\"client\":0,\"seq\":{i}}}"
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let p = Path::new("t.jsonl");
        let w = window(&text, p, 2, 7, 3).unwrap();
        assert_eq!(w.messages_in_range, 6);
        assert_eq!(w.messages_shown, 3);
        // Three messages and the mark after each.
        assert_eq!(w.events.len(), 6);
        assert_eq!(w.events[0].t_ns, 2);
        assert_eq!(w.events[5].t_ns, 4);
        assert!(matches!(
            window(&text, p, 100, 200, 3),
            Err(ReportError::Empty(_))
        ));
        let e = window("\n\n", p, 0, 9, 3).unwrap_err().to_string();
        assert!(e.contains("t.jsonl: the file is empty"), "{e}");
        let e = window("{\"t\":1}\nxx", p, 0, 9, 3).unwrap_err().to_string();
        assert!(e.starts_with("t.jsonl: line 1: no string \"ev\""), "{e}");
    }
}
