//! Watches what nodes report and feeds the oracles and the measurements: executions,
//! checkpoints, completions, rejections and accepted UIs of correct replicas.

use super::report::{LatencySummary, ReplicaWork, RunReport};
use super::service::{KvSpec, kv_key_of};
use super::trace::Trace;
use super::world::{BuildError, World};
use crate::oracle::{
    Agreement, CheckpointAgreement, ExactlyOnce, History, Liveness, Property, UsigMonitor,
    Violation,
};
use hdrhistogram::Histogram;
use minlab_protocols::minbft::certify;
use minlab_protocols::minbft::messages::{MessageKind, Request};
use minlab_protocols::{Event, Metrics, NodeId, ProtocolMessage, RejectReason, UiClaim};
use minlab_scenarios::{FaultKind, SafetyExpectation, Scenario, ServiceKind};
use minlab_usig::{AnyUsig, Usig};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One agreed execution: client, request number, and fingerprints of the operation and of
/// its result.
type Executed = (u32, u64, u64, u64);

/// Width of one bucket of the throughput timeline.
const TIMELINE_BUCKET_NS: u64 = 100_000_000;

/// Oracles and measurements of one run.
pub struct Observer {
    pub(super) trace: Option<Trace>,
    /// Verifies UIs for the USIG monitor (the simulator holds every key).
    verifier: AnyUsig,
    byzantine: BTreeSet<u32>,
    agreement: Agreement<Executed>,
    exactly_once: ExactlyOnce,
    checkpoints: CheckpointAgreement,
    usig: UsigMonitor,
    history: Option<History<KvSpec>>,
    liveness: Option<Liveness>,
    /// The request executed at each position of the agreed order, for replaying it.
    agreed_requests: Vec<Option<Arc<Request>>>,
    /// MinZyzyva: speculative executions by position beyond what committed, `None` where
    /// correct replicas disagree or one rolled back. Bound: one entry per position.
    speculative: BTreeMap<u64, Option<(u32, u64, Arc<Request>)>>,
    /// Requests correct clients completed, for the rollback oracle. Bound: the workload.
    completed_requests: BTreeSet<(u32, u64)>,
    violations: Vec<Violation>,
    violated: BTreeSet<Property>,
    failures: Vec<String>,
    latency: Histogram<u64>,
    timeline: Vec<u64>,
    invoked: u64,
    completed: u64,
    /// Client authenticators delivered to each replica (REQUESTs, requests in PREPAREs).
    view_changes: Vec<(u64, u32, u64)>,
    checkpoints_stable: u64,
    pub(super) deliveries: u64,
    pub(super) dropped: u64,
    pub(super) dropped_at_crashed: u64,
    pub(super) corrupted_delivered: u64,
}

/// When the network and the replicas are healed for good: after GST, the last partition,
/// and the end of the last temporary fault.
fn healed_at(s: &Scenario) -> u64 {
    let mut t = s.network.gst.map_or(0, |g| g.ns());
    for p in &s.network.partitions {
        t = t.max(p.get_ref().end.ns());
    }
    for f in &s.faults {
        let f = f.get_ref();
        let end = match f.kind {
            FaultKind::Crash => f.at.ns(),
            _ => f.at.ns() + f.duration.map_or(0, |d| d.ns()),
        };
        t = t.max(end);
    }
    t
}

impl Observer {
    /// Oracles for `s`, optionally tracing.
    pub fn new(s: &Scenario, world: &World, trace: Option<Trace>) -> Result<Self, BuildError> {
        let verifier = AnyUsig::new(s.usig, 0, &world.keys).map_err(|e| BuildError::Config {
            scenario: s.name.clone(),
            reason: e.to_string(),
        })?;
        Ok(Observer {
            verifier,
            trace,
            byzantine: s.byzantine.iter().map(|b| b.get_ref().replica).collect(),
            agreement: Agreement::default(),
            exactly_once: ExactlyOnce::default(),
            checkpoints: CheckpointAgreement::default(),
            usig: UsigMonitor::default(),
            history: (s.workload.service == ServiceKind::Kv)
                .then(|| History::new(KvSpec::default(), kv_key_of)),
            liveness: s
                .expect
                .liveness_bound
                .map(|b| Liveness::new(healed_at(s), b.ns())),
            agreed_requests: Vec::new(),
            speculative: BTreeMap::new(),
            completed_requests: BTreeSet::new(),
            violations: Vec::new(),
            violated: BTreeSet::new(),
            failures: Vec::new(),
            latency: Histogram::new(3).expect("3 significant digits is valid"),
            timeline: Vec::new(),
            invoked: 0,
            completed: 0,
            view_changes: Vec::new(),
            checkpoints_stable: 0,
            deliveries: 0,
            dropped: 0,
            dropped_at_crashed: 0,
            corrupted_delivered: 0,
        })
    }

    fn violation(&mut self, v: Violation) {
        if self.violated.insert(v.property) {
            if let Some(t) = self.trace.as_mut() {
                t.line(
                    v.at_ns,
                    "violation",
                    format_args!("\"property\":\"{}\"", v.property),
                );
            }
            self.violations.push(v);
        }
    }

    fn check(&mut self, r: Result<(), Violation>) {
        if let Err(v) = r {
            self.violation(v);
        }
    }

    /// A failure of the simulator itself (not of the protocol), reported with the run.
    pub fn note_failure(&mut self, what: String) {
        self.failures.push(what);
    }

    /// A correct client invoked request `seq` with `op`.
    pub fn on_invoke(&mut self, at: u64, client: u32, seq: u64, op: Vec<u8>) {
        self.invoked += 1;
        if let Some(h) = self.history.as_mut() {
            h.on_invoke(at, client, seq, op);
        }
        if let Some(l) = self.liveness.as_mut() {
            l.on_invoke(at, client, seq);
        }
    }

    /// A correct replica restarted from its initial state: it will execute from position
    /// 0 again.
    pub fn on_restart(&mut self, replica: u32) {
        self.exactly_once.forget_after_restart(replica);
    }

    /// Correct replica `r` received `msg`: if it carries a UI, the USIG monitor checks it.
    pub fn on_replica_input<M: ProtocolMessage>(&mut self, at: u64, r: u32, msg: &M) {
        if self.byzantine.contains(&r) {
            return;
        }
        let Some(UiClaim { signer, ui, bytes }) = msg.ui_claim() else {
            return;
        };
        let counter = ui.counter;
        let digest = certify::sha256(&bytes);
        let verifier = &self.verifier;
        let res = self.usig.on_delivered(at, r, signer, counter, digest, || {
            verifier.verify_ui(signer, ui, &bytes).is_ok()
        });
        self.check(res);
    }

    /// Node `me` reported event `e` at `at`. Returns the client whose request completed,
    /// if one did.
    pub fn on_event(&mut self, at: u64, me: NodeId, e: Event) -> Option<u32> {
        if let Some(t) = self.trace.as_mut() {
            let what = match &e {
                Event::StateTransferNeeded { counter } => Some(format!("need {counter}")),
                Event::StateTransferred {
                    view,
                    counter,
                    position,
                } => Some(format!("restored v{view}#{counter} at {position}")),
                Event::CheckpointStable { counter, .. } => Some(format!("stable #{counter}")),
                Event::SpeculativelyExecuted {
                    position,
                    client,
                    client_seq,
                    counter,
                    ..
                } => Some(format!(
                    "speculative {position}: c{client}/{client_seq} #{counter}"
                )),
                Event::RolledBack { position, .. } => Some(format!("rolled back {position}")),
                Event::TimerIgnored { kind } => Some(format!("timer ignored {kind:?}")),
                _ => None,
            };
            if let Some(what) = what {
                t.line(
                    at,
                    "state",
                    format_args!("\"node\":\"{me}\",\"what\":\"{what}\""),
                );
            }
        }
        if let (Some(t), Event::MessageRejected { from, kind, reason }) = (self.trace.as_mut(), &e)
        {
            t.line(
                at,
                "reject",
                format_args!(
                    "\"node\":\"{me}\",\"from\":\"{from}\",\"msg\":\"{}\",\"reason\":\"{reason:?}\"",
                    kind.name()
                ),
            );
        }
        match (me, e) {
            (NodeId::Replica(r), _) if self.byzantine.contains(&r) => None,
            (
                NodeId::Replica(_),
                Event::SpeculativelyExecuted {
                    position,
                    request,
                    client,
                    client_seq,
                    ..
                },
            ) => {
                let entry = self
                    .speculative
                    .entry(position)
                    .or_insert_with(|| Some((client, client_seq, request)));
                if entry
                    .as_ref()
                    .is_some_and(|(c, s, _)| (*c, *s) != (client, client_seq))
                {
                    *entry = None;
                }
                None
            }
            (
                NodeId::Replica(r),
                Event::RolledBack {
                    position,
                    client,
                    client_seq,
                },
            ) => {
                self.speculative.insert(position, None);
                if self.completed_requests.contains(&(client, client_seq)) {
                    self.violation(Violation {
                        property: Property::CompletedNeverRolledBack,
                        at_ns: at,
                        detail: format!(
                            "replica {r} rolled back client {client} request {client_seq} \
                             (position {position}), which the client had completed"
                        ),
                    });
                }
                None
            }
            (
                NodeId::Replica(r),
                Event::RequestExecuted {
                    position,
                    request,
                    client,
                    client_seq,
                    result_digest,
                    ..
                },
            ) => {
                if let Ok(slot) = usize::try_from(position) {
                    if slot >= self.agreed_requests.len() {
                        self.agreed_requests.resize(slot + 1, None);
                    }
                    if self.agreed_requests[slot].is_none() {
                        self.agreed_requests[slot] = Some(request.clone());
                    }
                }
                let res = self.agreement.on_execute(
                    at,
                    r,
                    position,
                    &(
                        client,
                        client_seq,
                        certify::fnv1a(&request.op),
                        result_digest,
                    ),
                );
                self.check(res);
                let res = self.exactly_once.on_execute(at, r, client, client_seq);
                self.check(res);
                if let Some(t) = self.trace.as_mut() {
                    t.line(
                        at,
                        "execute",
                        format_args!(
                            "\"replica\":{r},\"position\":{position},\"client\":{client},\"seq\":{client_seq}"
                        ),
                    );
                }
                None
            }
            (
                NodeId::Replica(r),
                Event::CheckpointTaken {
                    position,
                    state_digest,
                    ..
                },
            ) => {
                let res = self
                    .checkpoints
                    .on_checkpoint(at, r, position, state_digest);
                self.check(res);
                None
            }
            (NodeId::Replica(r), Event::StateTransferred { position, .. }) => {
                if let Some(t) = self.trace.as_mut() {
                    t.line(
                        at,
                        "state-transfer",
                        format_args!("\"replica\":{r},\"position\":{position}"),
                    );
                }
                None
            }
            (NodeId::Replica(_), Event::CheckpointStable { .. }) => {
                self.checkpoints_stable += 1;
                None
            }
            (NodeId::Replica(r), Event::ViewChanged { view }) => {
                self.view_changes.push((at, r, view));
                if let Some(t) = self.trace.as_mut() {
                    t.line(at, "view", format_args!("\"replica\":{r},\"view\":{view}"));
                }
                None
            }
            (
                NodeId::Client(c),
                Event::Completed {
                    client,
                    seq,
                    result,
                    latency,
                },
            ) => {
                self.completed += 1;
                self.completed_requests.insert((client, seq));
                let _ = self.latency.record(latency.as_nanos().max(1));
                let bucket = (at / TIMELINE_BUCKET_NS) as usize;
                if self.timeline.len() <= bucket {
                    self.timeline.resize(bucket + 1, 0);
                }
                self.timeline[bucket] += 1;
                if let Some(h) = self.history.as_mut() {
                    h.on_complete(at, client, seq, result);
                }
                if let Some(l) = self.liveness.as_mut() {
                    l.on_complete(client, seq);
                }
                if let Some(t) = self.trace.as_mut() {
                    t.line(
                        at,
                        "complete",
                        format_args!(
                            "\"client\":{client},\"seq\":{seq},\"latency_ns\":{}",
                            latency.as_nanos()
                        ),
                    );
                }
                Some(c)
            }
            _ => None,
        }
    }

    /// Final checks (linearizability, liveness, expectations) and the report. `busy_ns`
    /// is the virtual time the CPU model charged each node, by node index (empty when the
    /// driver keeps none).
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        mut self,
        s: &Scenario,
        seed: u64,
        end: u64,
        events: u64,
        hit_event_bound: bool,
        metrics: &[Metrics],
        busy_ns: &[u64],
    ) -> RunReport {
        let mut inconclusive = None;
        if let Some(h) = self.history.take() {
            let mut order = Vec::new();
            for (expected_position, (position, &(client, seq, _, _))) in
                (0u64..).zip(self.agreement.sequence())
            {
                if position != expected_position {
                    inconclusive = Some(format!(
                        "no correct replica executed position {expected_position}"
                    ));
                    break;
                }
                match self.agreed_requests.get(position as usize) {
                    Some(Some(req)) => order.push((client, seq, &req.op)),
                    _ => {
                        inconclusive = Some(format!("no request recorded at position {position}"));
                        break;
                    }
                }
            }
            // MinZyzyva: a run ends with a speculative suffix no checkpoint committed yet;
            // what correct replicas executed there identically (and never rolled back)
            // extends the order. (MinBFT reports no speculative executions.)
            let mut next = order.len() as u64;
            while let Some(Some((client, seq, req))) = self.speculative.get(&next) {
                order.push((*client, *seq, &req.op));
                next += 1;
            }
            if inconclusive.is_none() {
                let res = h.check(end, order);
                self.check(res);
            }
        }
        if let Some(l) = self.liveness.as_ref() {
            let res = l.check(end);
            self.check(res);
        }
        let mut failures = std::mem::take(&mut self.failures);
        let safety: Vec<&Violation> = self
            .violations
            .iter()
            .filter(|v| v.property.is_safety())
            .collect();
        match s.expect.safety {
            SafetyExpectation::Hold => {
                for v in &safety {
                    failures.push(v.to_string());
                }
            }
            SafetyExpectation::Violated if safety.is_empty() => {
                failures.push("safety was expected to be violated, but every oracle held".into())
            }
            SafetyExpectation::Violated => {}
        }
        for v in self.violations.iter().filter(|v| !v.property.is_safety()) {
            failures.push(v.to_string());
        }
        if let Some(min) = s.expect.min_completed
            && self.completed < min
        {
            failures.push(format!(
                "only {} requests completed; at least {min} expected",
                self.completed
            ));
        }
        if hit_event_bound {
            failures.push(format!("the run hit its bound of {events} events"));
        }
        let mut total = Metrics::default();
        for (i, m) in metrics.iter().enumerate() {
            if i < s.replica_count() as usize && self.byzantine.contains(&(i as u32)) {
                continue;
            }
            total.absorb(m);
        }
        let messages_sent = MessageKind::ALL
            .iter()
            .filter(|k| total.sent_of(**k) > 0)
            .map(|k| (k.name().to_string(), total.sent_of(*k)))
            .collect();
        let rejections = RejectReason::ALL
            .iter()
            .filter(|r| total.rejections(**r) > 0)
            .map(|r| (format!("{r:?}"), total.rejections(*r)))
            .collect();
        let by_kind = |count: &dyn Fn(MessageKind) -> u64| {
            MessageKind::ALL
                .iter()
                .filter(|k| count(**k) > 0)
                .map(|k| (k.name().to_string(), count(*k)))
                .collect()
        };
        let per_replica = (0..s.replica_count())
            .zip(metrics)
            .map(|(r, m)| ReplicaWork {
                replica: r,
                byzantine: self.byzantine.contains(&r),
                sent: by_kind(&|k| m.sent_of(k)),
                received: by_kind(&|k| m.received_of(k)),
                usig_creates: m.usig_creates,
                usig_verifies: m.usig_verifies,
                mac_ops: m.mac_ops,
                signature_ops: m.signature_ops,
                requests_executed: m.requests_executed,
                batches_executed: m.batches_executed,
                busy_ns: busy_ns.get(r as usize).copied().unwrap_or(0),
            })
            .collect();
        let h = &self.latency;
        let latency_cdf = if h.is_empty() {
            Vec::new()
        } else {
            (0..=200u32)
                .map(|q| {
                    let q = f64::from(q) / 200.0;
                    (h.value_at_quantile(q), q)
                })
                .collect()
        };
        let latency = if h.is_empty() {
            LatencySummary::default()
        } else {
            LatencySummary {
                count: h.len(),
                mean_ns: h.mean() as u64,
                p50_ns: h.value_at_quantile(0.5),
                p90_ns: h.value_at_quantile(0.9),
                p99_ns: h.value_at_quantile(0.99),
                max_ns: h.max(),
            }
        };
        RunReport {
            scenario: s.name.clone(),
            seed,
            passed: failures.is_empty(),
            failures,
            violations: self.violations,
            completed: self.completed,
            invoked: self.invoked,
            throughput_per_s: if end == 0 {
                0.0
            } else {
                self.completed as f64 * 1e9 / end as f64
            },
            latency,
            sim_time_ns: end,
            events,
            deliveries: self.deliveries,
            dropped: self.dropped,
            dropped_at_crashed: self.dropped_at_crashed,
            corrupted_delivered: self.corrupted_delivered,
            view_max: self.view_changes.iter().map(|v| v.2).max().unwrap_or(0),
            view_changes: self.view_changes,
            checkpoints_stable: self.checkpoints_stable,
            messages_sent,
            rejections,
            usig_creates: total.usig_creates,
            usig_verifies: total.usig_verifies,
            throughput_timeline: self.timeline,
            per_replica,
            latency_cdf,
            hit_event_bound,
            linearizability_inconclusive: inconclusive,
        }
    }
}
