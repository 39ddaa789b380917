//! The optional JSON-lines trace of a run: one line per delivery (with its send time),
//! drop, timer, fault, execution and completion, written in a fixed format so that the same
//! seed gives the same bytes.

use minlab_protocols::{NodeId, ProtocolMessage};
use std::io::Write;

/// Writes trace lines to any writer; I/O errors are remembered and reported at the end
/// instead of aborting the run.
pub struct Trace {
    out: Box<dyn Write>,
    error: Option<std::io::Error>,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trace").finish_non_exhaustive()
    }
}

/// A short, stable description of a message: its type and its UI counter, if any.
pub fn describe<M: ProtocolMessage>(msg: &M) -> String {
    match msg.ui_claim() {
        Some(claim) => format!("{}#{}", msg.kind().name(), claim.ui.counter),
        None => msg.kind().name().to_string(),
    }
}

impl Trace {
    /// A trace written to `out`.
    pub fn new(out: Box<dyn Write>) -> Self {
        Trace { out, error: None }
    }

    /// Writes one line: `{"t":NS,"ev":"EV",...fields}`. `fields` is already-formatted JSON
    /// members (without leading comma), or empty.
    pub fn line(&mut self, t: u64, ev: &str, fields: std::fmt::Arguments<'_>) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = writeln!(self.out, "{{\"t\":{t},\"ev\":\"{ev}\",{fields}}}") {
            self.error = Some(e);
        }
    }

    /// A message event between two nodes.
    pub fn message<M: ProtocolMessage>(
        &mut self,
        t: u64,
        ev: &str,
        from: NodeId,
        to: NodeId,
        msg: &M,
    ) {
        self.line(
            t,
            ev,
            format_args!(
                "\"from\":\"{from}\",\"to\":\"{to}\",\"msg\":\"{}\"",
                describe(msg)
            ),
        );
    }

    /// A delivery at `t` of a message `from` sent at `sent`: the message line with
    /// `"sent":NS` last, so a sequence chart can draw the arrow from the send.
    pub fn delivery<M: ProtocolMessage>(
        &mut self,
        t: u64,
        sent: u64,
        from: NodeId,
        to: NodeId,
        msg: &M,
    ) {
        self.line(
            t,
            "deliver",
            format_args!(
                "\"from\":\"{from}\",\"to\":\"{to}\",\"msg\":\"{}\",\"sent\":{sent}",
                describe(msg)
            ),
        );
    }

    /// Flushes, and returns the first I/O error met, if any.
    pub fn finish(mut self) -> std::io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}
