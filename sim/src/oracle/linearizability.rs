//! Linearizability of what clients observed, against a sequential specification.
//!
//! The replicas' agreed execution order is the natural witness: [`History::check`] replays
//! the specification along it, compares every completed operation's observed result, and
//! checks that the order respects real time (an operation that completed before another was
//! invoked comes first). That is linear in the history. Only when the witness fails does
//! the check fall back to stateright's exhaustive `LinearizabilityTester` on the operations
//! of the key concerned, so a violation is reported only if *no* order explains what the
//! clients saw.

use super::{Property, Violation};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};
use std::collections::BTreeMap;
use std::fmt::Debug;

#[derive(Clone, Debug)]
struct Record<Op, Ret> {
    client: u32,
    op: Op,
    invoked_ns: u64,
    completed: Option<(u64, Ret)>,
}

/// The operations correct clients invoked and the results they accepted.
#[derive(Clone, Debug)]
pub struct History<S: SequentialSpec> {
    init: S,
    key_of: fn(&S::Op) -> u64,
    records: BTreeMap<(u32, u64), Record<S::Op, S::Ret>>,
}

impl<S> History<S>
where
    S: SequentialSpec + Clone + Debug,
    S::Op: Clone + Debug,
    S::Ret: Clone + Debug,
{
    /// An empty history over the initial state `init`; `key_of` names the object an
    /// operation touches (linearizability is checked per object when the witness fails).
    pub fn new(init: S, key_of: fn(&S::Op) -> u64) -> Self {
        History {
            init,
            key_of,
            records: BTreeMap::new(),
        }
    }

    /// Client `client` invoked `op` as its request number `seq`.
    pub fn on_invoke(&mut self, at_ns: u64, client: u32, seq: u64, op: S::Op) {
        self.records.insert(
            (client, seq),
            Record {
                client,
                op,
                invoked_ns: at_ns,
                completed: None,
            },
        );
    }

    /// Client `client` accepted `ret` for its request `seq`.
    pub fn on_complete(&mut self, at_ns: u64, client: u32, seq: u64, ret: S::Ret) {
        if let Some(r) = self.records.get_mut(&(client, seq)) {
            r.completed = Some((at_ns, ret));
        }
    }

    /// Number of completed operations.
    pub fn completed(&self) -> usize {
        self.records
            .values()
            .filter(|r| r.completed.is_some())
            .count()
    }

    /// Checks the history against `order`: the agreed execution order of `(client, seq,
    /// op)`, which includes requests of Byzantine clients (not in the history). `at_ns` is
    /// the time to report a violation at.
    pub fn check<'a>(
        &self,
        at_ns: u64,
        order: impl IntoIterator<Item = (u32, u64, &'a S::Op)>,
    ) -> Result<(), Violation>
    where
        S::Op: 'a,
    {
        match self.witness_failure(order) {
            None => Ok(()),
            Some((key, why)) => {
                if self.exhaustive_check(key) {
                    Ok(())
                } else {
                    Err(Violation {
                        property: Property::Linearizability,
                        at_ns,
                        detail: why,
                    })
                }
            }
        }
    }

    /// Why the agreed order does not explain the history (and the key concerned), if so.
    fn witness_failure<'a>(
        &self,
        order: impl IntoIterator<Item = (u32, u64, &'a S::Op)>,
    ) -> Option<(u64, String)>
    where
        S::Op: 'a,
    {
        let mut state = self.init.clone();
        let mut latest_invocation_before = 0u64;
        let mut placed = 0usize;
        for (client, seq, op) in order {
            let ret = state.invoke(op);
            let Some(rec) = self.records.get(&(client, seq)) else {
                continue; // a Byzantine client's request
            };
            placed += usize::from(rec.completed.is_some());
            if let Some((done_ns, seen)) = &rec.completed {
                if *seen != ret {
                    return Some((
                        (self.key_of)(op),
                        format!(
                            "client {client} request {seq} {op:?} returned {seen:?}, but in the \
                             agreed order it returns {ret:?}"
                        ),
                    ));
                }
                if latest_invocation_before > *done_ns {
                    return Some((
                        (self.key_of)(op),
                        format!(
                            "client {client} request {seq} {op:?} completed at {done_ns} ns, yet \
                             is ordered after a request invoked at {latest_invocation_before} ns"
                        ),
                    ));
                }
            }
            latest_invocation_before = latest_invocation_before.max(rec.invoked_ns);
        }
        if placed < self.completed() {
            let missing = self
                .records
                .iter()
                .find(|(_, r)| r.completed.is_some())
                .map(|(k, r)| ((self.key_of)(&r.op), *k))?;
            return Some((
                missing.0,
                format!(
                    "{} completed requests were never executed by a correct replica (e.g. \
                     client {} request {})",
                    self.completed() - placed,
                    missing.1.0,
                    missing.1.1
                ),
            ));
        }
        None
    }

    /// Exhaustive check of the operations on `key` with stateright's tester.
    fn exhaustive_check(&self, key: u64) -> bool {
        // (time, is a return, the operation)
        type Event<'r, Op, Ret> = (u64, bool, &'r Record<Op, Ret>);
        let mut events: Vec<Event<'_, S::Op, S::Ret>> = Vec::new();
        for r in self
            .records
            .values()
            .filter(|r| (self.key_of)(&r.op) == key)
        {
            events.push((r.invoked_ns, false, r));
            if let Some((t, _)) = &r.completed {
                events.push((*t, true, r));
            }
        }
        // Returns after invocations at the same instant would claim a real-time order that
        // the simulator did not impose; invocations first is the permissive choice.
        events.sort_by_key(|(t, is_ret, r)| (*t, *is_ret, r.client));
        let mut tester = LinearizabilityTester::new(self.init.clone());
        // Per client, an operation on another key in between does not matter here, but the
        // tester needs one operation in flight per thread: key operations per client are
        // sequential because clients have one outstanding request.
        for (_, is_ret, r) in events {
            let step = if is_ret {
                let ret = r
                    .completed
                    .as_ref()
                    .map(|(_, x)| x.clone())
                    .expect("completed");
                tester.on_return(r.client, ret).map(|_| ())
            } else {
                tester.on_invoke(r.client, r.op.clone()).map(|_| ())
            };
            if step.is_err() {
                return false;
            }
        }
        tester.is_consistent()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::semantics::register::{Register, RegisterOp, RegisterRet};

    type H = History<Register<u8>>;

    fn key(_: &RegisterOp<u8>) -> u64 {
        0
    }

    #[test]
    fn agreed_order_explains_a_correct_history() {
        let mut h = H::new(Register(0), key);
        h.on_invoke(0, 1, 1, RegisterOp::Write(5));
        h.on_invoke(1, 2, 1, RegisterOp::Read);
        h.on_complete(10, 1, 1, RegisterRet::WriteOk);
        h.on_complete(11, 2, 1, RegisterRet::ReadOk(5));
        let w = RegisterOp::Write(5);
        let r = RegisterOp::Read;
        assert!(h.check(20, [(1, 1, &w), (2, 1, &r)]).is_ok());
    }

    #[test]
    fn stale_read_after_completed_write_is_a_violation() {
        let mut h = H::new(Register(0), key);
        h.on_invoke(0, 1, 1, RegisterOp::Write(5));
        h.on_complete(10, 1, 1, RegisterRet::WriteOk);
        h.on_invoke(20, 2, 1, RegisterOp::Read);
        h.on_complete(30, 2, 1, RegisterRet::ReadOk(0));
        let w = RegisterOp::Write(5);
        let r = RegisterOp::Read;
        // Read ordered first: its result matches, but it was invoked after the write
        // completed, and no other order explains ReadOk(0).
        let v = h.check(40, [(2, 1, &r), (1, 1, &w)]).unwrap_err();
        assert_eq!(v.property, Property::Linearizability);
    }

    #[test]
    fn a_wrong_witness_is_forgiven_when_another_order_works() {
        // Two concurrent reads of the initial value: any order is fine, even one the
        // witness states differently from what the results suggest.
        let mut h = H::new(Register(0), key);
        h.on_invoke(0, 1, 1, RegisterOp::Write(5));
        h.on_invoke(0, 2, 1, RegisterOp::Read);
        h.on_complete(10, 1, 1, RegisterRet::WriteOk);
        h.on_complete(10, 2, 1, RegisterRet::ReadOk(0));
        let w = RegisterOp::Write(5);
        let r = RegisterOp::Read;
        assert!(h.check(20, [(1, 1, &w), (2, 1, &r)]).is_ok());
    }

    #[test]
    fn completed_but_never_executed_is_a_violation() {
        let mut h = H::new(Register(0), key);
        h.on_invoke(0, 1, 1, RegisterOp::Write(5));
        h.on_complete(10, 1, 1, RegisterRet::WriteOk);
        h.on_invoke(11, 1, 2, RegisterOp::Read);
        h.on_complete(12, 1, 2, RegisterRet::ReadOk(7));
        let w = RegisterOp::Write(5);
        assert!(h.check(20, [(1, 1, &w)]).is_err());
    }
}
