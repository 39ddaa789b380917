//! Scripts for Byzantine MinZyzyva replicas (paper §5), each holding only its own USIG,
//! inside the wrapped correct replica. `holey-primary`: a primary that withholds some
//! ORDER-REQs from chosen backups, leaving holes in its counter sequence there, and ignores
//! FILL-HOLE — the attack FILL-HOLE and its relay by other replicas are for.
//! `wrong-responses` (`wrong_responses.rs`): a replica whose speculative RESPONSEs lie under
//! valid UIs. `duplicate-order` (`duplicate_order.rs`): a primary that orders requests a
//! second time under a second `UI_p`.

mod duplicate_order;
mod wrong_responses;

use super::params::Params;
use super::{Adversary, ScriptError};
use minlab_protocols::minzyzyva::{Message, Replica};
use minlab_protocols::service::Service;
use minlab_protocols::{Instant, NodeId, Outbox, Output, TimerKind};
use minlab_usig::Usig;

/// Byzantine MinZyzyva replica scripts.
pub const MINZYZYVA_REPLICA_SCRIPTS: &[&str] =
    &["holey-primary", "wrong-responses", "duplicate-order"];

/// A primary that withholds every `every`-th ORDER-REQ from `victims` and ignores FILL-HOLE.
struct HoleyPrimary<U, S> {
    inner: Replica<U, S>,
    victims: Vec<u32>,
    every: u64,
    ordered: u64,
    /// Counter values of the ORDER-REQs withheld from the victims: never resent to them.
    withheld: std::collections::BTreeSet<u64>,
    out: Outbox<Message>,
}

/// Builds the MinZyzyva replica script `name` around the correct replica `inner`.
pub fn build_minzyzyva_replica<U, S>(
    name: &str,
    params: &toml::Table,
    inner: Replica<U, S>,
) -> Result<Box<dyn Adversary<Message>>, ScriptError>
where
    U: Usig + 'static,
    S: Service + 'static,
{
    let p = Params {
        script: name,
        table: params,
    };
    match name {
        "holey-primary" => {
            p.only(&["victims", "every"])?;
            let n = inner.config().replica_count;
            Ok(Box::new(HoleyPrimary {
                victims: p.replicas("victims", n, vec![1])?,
                every: p.count("every", 10)?,
                ordered: 0,
                withheld: Default::default(),
                out: Outbox::new(),
                inner,
            }))
        }
        "wrong-responses" => {
            p.only(&["lie"])?;
            let lie = p.choice("lie", wrong_responses::Lie::NAMES, "result")?;
            Ok(Box::new(wrong_responses::WrongResponses::new(
                inner,
                wrong_responses::Lie::from_name(lie),
            )))
        }
        "duplicate-order" => {
            p.only(&["request", "every", "lag"])?;
            let second = duplicate_order::Second::from_name(p.choice(
                "request",
                duplicate_order::Second::NAMES,
                "same",
            )?);
            if second == duplicate_order::Second::Altered && params.contains_key("lag") {
                return Err(ScriptError {
                    script: name.into(),
                    reason: "lag is for request = \"same\" (an altered request goes first)".into(),
                });
            }
            Ok(Box::new(duplicate_order::DuplicateOrder::new(
                inner,
                second,
                p.count("every", 1)?,
                p.natural("lag", 0)?,
            )))
        }
        other => Err(ScriptError {
            script: other.to_string(),
            reason: format!(
                "unknown MinZyzyva replica script; known: {}",
                MINZYZYVA_REPLICA_SCRIPTS.join(", ")
            ),
        }),
    }
}

impl<U: Usig, S: Service> HoleyPrimary<U, S> {
    /// Passes the wrapped replica's outputs on, withholding some ORDER-REQs.
    fn forward(&mut self, out: &mut Outbox<Message>) {
        let n = self.inner.config().replica_count;
        let me = self.inner.id();
        for o in self.out.drain() {
            match o {
                Output::Broadcast {
                    msg: Message::OrderReq(order),
                } => {
                    self.ordered += 1;
                    if self.ordered.is_multiple_of(self.every) {
                        self.withheld.insert(order.ui.counter);
                        for r in (0..n).filter(|r| *r != me && !self.victims.contains(r)) {
                            out.send(NodeId::Replica(r), Message::OrderReq(order.clone()));
                        }
                    } else {
                        out.broadcast(Message::OrderReq(order));
                    }
                }
                // The correct primary resends an ORDER-REQ to a backup that forwards the
                // client's retransmission: not one that was withheld from a victim.
                Output::Send {
                    to: NodeId::Replica(r),
                    msg: Message::OrderReq(order),
                } if self.victims.contains(&r) && self.withheld.contains(&order.ui.counter) => {}
                other => out.push(other),
            }
        }
    }
}

impl<U: Usig, S: Service> Adversary<Message> for HoleyPrimary<U, S> {
    fn on_message(&mut self, now: Instant, from: NodeId, msg: Message, out: &mut Outbox<Message>) {
        if matches!(msg, Message::FillHole(_)) {
            return;
        }
        self.inner.on_message(now, from, msg, &mut self.out);
        self.forward(out);
    }

    fn on_timer(&mut self, now: Instant, kind: TimerKind, out: &mut Outbox<Message>) {
        self.inner.on_timer(now, kind, &mut self.out);
        self.forward(out);
    }
}

#[cfg(test)]
mod tests;
