//! Semantic checks of a parsed scenario: everything serde cannot see (indices in range,
//! probabilities in [0, 1], consistent times), each reported with the field and its line.

use crate::ScenarioError;
use crate::schema::{FaultKind, NodeRef, Protocol, Scenario};
use std::ops::Range;

/// Byzantine replica scripts the simulator knows.
pub const REPLICA_SCRIPTS: &[&str] = &[
    "silent",
    "prepare-subset",
    "burn-counter",
    "equivocate",
    "replay",
    "forged-request",
    "commit-unprepared",
    "req-view-change-storm",
    "view-change-altered-o",
    "new-view-wrong-s",
    "wrong-replies",
    "compromised-usig",
];

/// Byzantine client scripts the simulator knows.
pub const CLIENT_SCRIPTS: &[&str] = &["bad-signature", "reuse-seq", "flood"];

pub(crate) struct Checker<'a> {
    pub(crate) src: &'a str,
    pub(crate) origin: &'a str,
}

impl Checker<'_> {
    pub(crate) fn err(
        &self,
        span: Option<Range<usize>>,
        field: &str,
        msg: String,
    ) -> ScenarioError {
        ScenarioError::Invalid {
            origin: self.origin.to_string(),
            line: span.map(|s| line_of(self.src, s.start)),
            field: field.to_string(),
            message: msg,
        }
    }
}

/// 1-based line of byte offset `at` in `src`.
pub(crate) fn line_of(src: &str, at: usize) -> usize {
    src.as_bytes()[..at.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn probability(c: &Checker<'_>, field: &str, p: f64) -> Result<(), ScenarioError> {
    if !(0.0..=1.0).contains(&p) {
        return Err(c.err(None, field, format!("{p} is not a probability in [0, 1]")));
    }
    Ok(())
}

/// Checks what the types cannot. `src` is the file text, for line numbers.
pub fn validate(s: &Scenario, src: &str, origin: &str) -> Result<(), ScenarioError> {
    let c = Checker { src, origin };
    if s.f == 0 || s.f > 10 {
        return Err(c.err(None, "f", format!("{} is out of range (1 to 10)", s.f)));
    }
    let replicas = match s.protocol {
        Protocol::Pbft => 3 * s.f + 1,
        _ => 2 * s.f + 1,
    };
    if s.run.duration.ns() == 0 {
        return Err(c.err(None, "run.duration", "must be longer than 0s".into()));
    }
    if s.params.batch_size_max == 0 {
        return Err(c.err(None, "params.batch_size_max", "must be at least 1".into()));
    }
    if s.params.outstanding_batches_max == 0 {
        return Err(c.err(
            None,
            "params.outstanding_batches_max",
            "must be at least 1 (the primary needs a slot to start an agreement)".into(),
        ));
    }
    if s.params.checkpoint_period == 0 || s.params.log_size < s.params.checkpoint_period {
        return Err(c.err(
            None,
            "params.log_size",
            format!(
                "log_size ({}) must be at least checkpoint_period ({}), which must be at least 1",
                s.params.log_size, s.params.checkpoint_period
            ),
        ));
    }
    let w = &s.workload;
    if w.clients == 0 && s.byzantine_clients.is_empty() {
        return Err(c.err(
            None,
            "workload.clients",
            "a run needs at least one client".into(),
        ));
    }
    if w.mode == crate::schema::LoopKind::Open && w.rate_per_client.unwrap_or(0) == 0 {
        return Err(c.err(
            None,
            "workload.rate_per_client",
            "an open-loop workload needs a rate above 0".into(),
        ));
    }
    if w.mix.get + w.mix.put + w.mix.cas == 0 {
        return Err(c.err(None, "workload.mix", "weights must not all be 0".into()));
    }
    if w.keys == 0 {
        return Err(c.err(None, "workload.keys", "must be at least 1".into()));
    }
    let n = &s.network;
    probability(&c, "network.loss", n.loss)?;
    probability(&c, "network.duplicate", n.duplicate)?;
    probability(&c, "network.reorder", n.reorder)?;
    probability(&c, "network.corrupt", n.corrupt)?;
    let clients = w.clients + s.byzantine_clients.len() as u32;
    let node_ok = |r: &NodeRef| match *r {
        NodeRef::Replica(i) => i < replicas,
        NodeRef::Client(i) => i < clients,
        NodeRef::AllClients => true,
    };
    for (i, l) in n.links.iter().enumerate() {
        for node in [&l.get_ref().from, &l.get_ref().to] {
            if !node_ok(node) {
                return Err(c.err(
                    Some(l.span()),
                    &format!("network.links[{i}]"),
                    format!("no node {node} ({replicas} replicas, {clients} clients)"),
                ));
            }
        }
        probability(&c, &format!("network.links[{i}].loss"), l.get_ref().loss)?;
    }
    for (i, p) in n.partitions.iter().enumerate() {
        let field = format!("network.partitions[{i}]");
        let pr = p.get_ref();
        if pr.end <= pr.start {
            return Err(c.err(Some(p.span()), &field, "end must be after start".into()));
        }
        if pr.a.is_empty() {
            return Err(c.err(Some(p.span()), &field, "side a is empty".into()));
        }
        for node in pr.a.iter().chain(pr.b.iter().flatten()) {
            if !node_ok(node) {
                return Err(c.err(
                    Some(p.span()),
                    &field,
                    format!("no node {node} ({replicas} replicas, {clients} clients)"),
                ));
            }
        }
    }
    for (i, f) in s.faults.iter().enumerate() {
        let field = format!("faults[{i}]");
        let fr = f.get_ref();
        if fr.replica >= replicas {
            return Err(c.err(
                Some(f.span()),
                &field,
                format!("no replica {} (the group has {replicas})", fr.replica),
            ));
        }
        let needs_duration = matches!(
            fr.kind,
            FaultKind::CrashRestart | FaultKind::Pause | FaultKind::Slow
        );
        if needs_duration && fr.duration.is_none() {
            return Err(c.err(Some(f.span()), &field, "this fault needs a duration".into()));
        }
        if fr.lost_counter_values > 0
            && (fr.kind != FaultKind::CrashRestart
                || fr.keep_volatile_state
                || !s.params.durable
                || !durable_protocol(s.protocol))
        {
            return Err(c.err(
                Some(f.span()),
                &field,
                "lost_counter_values needs a crash-restart without kept volatile state of a \
                 durable MinBFT or MinZyzyva replica (params.durable = true)"
                    .into(),
            ));
        }
        if fr.kind == FaultKind::Slow && fr.factor.unwrap_or(0) < 2 {
            return Err(c.err(
                Some(f.span()),
                &field,
                "a slow fault needs factor >= 2".into(),
            ));
        }
    }
    let mut byz = std::collections::BTreeSet::new();
    for (i, b) in s.byzantine.iter().enumerate() {
        let field = format!("byzantine[{i}]");
        let br = b.get_ref();
        if br.replica >= replicas {
            return Err(c.err(
                Some(b.span()),
                &field,
                format!("no replica {} (the group has {replicas})", br.replica),
            ));
        }
        let known = match s.protocol {
            Protocol::Minbft => REPLICA_SCRIPTS,
            Protocol::Minzyzyva => crate::adversary::minzyzyva_scripts::MINZYZYVA_REPLICA_SCRIPTS,
            Protocol::Pbft => &[],
        };
        let replayed = s.replay.is_some() && br.script == crate::replay::REPLAYED_SCRIPT;
        if !known.contains(&br.script.as_str()) && !replayed {
            return Err(c.err(
                Some(b.span()),
                &field,
                format!(
                    "unknown script {:?} for {:?}; known scripts: {}",
                    br.script,
                    s.protocol,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        if !byz.insert(br.replica) {
            return Err(c.err(
                Some(b.span()),
                &field,
                format!("replica {} has two scripts", br.replica),
            ));
        }
    }
    // A durable MinBFT or MinZyzyva replica that crashes and restarts from its write-ahead
    // log keeps every promise it made (see `minlab_protocols::minbft::wal` and
    // `minlab_protocols::minzyzyva::wal`): it is a correct replica that was unavailable for
    // a while, not one of the `f` faulty ones.
    let keeps_promises = |f: &crate::schema::FaultSpec| {
        f.kind == FaultKind::CrashRestart && s.params.durable && durable_protocol(s.protocol)
    };
    let crashed: std::collections::BTreeSet<u32> = s
        .faults
        .iter()
        .map(|f| f.get_ref())
        .filter(|f| !keeps_promises(f))
        .map(|f| f.replica)
        .collect();
    let faulty = byz.union(&crashed).count() as u32;
    let compromised = s
        .byzantine
        .iter()
        .any(|b| b.get_ref().script == "compromised-usig");
    if faulty > s.f && s.expect.safety == crate::schema::SafetyExpectation::Hold && !compromised {
        return Err(c.err(
            None,
            "expect.safety",
            format!(
                "{faulty} replicas are faulty but f = {}: safety cannot be expected to hold",
                s.f
            ),
        ));
    }
    if let Some(r) = &s.replay {
        crate::replay::validate(s, r, &c, replicas)?;
    }
    for (i, b) in s.byzantine_clients.iter().enumerate() {
        if !CLIENT_SCRIPTS.contains(&b.get_ref().script.as_str()) {
            return Err(c.err(
                Some(b.span()),
                &format!("byzantine_clients[{i}]"),
                format!(
                    "unknown script {:?}; known scripts: {}",
                    b.get_ref().script,
                    CLIENT_SCRIPTS.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Protocols whose replicas keep a write-ahead log when `params.durable` is set.
fn durable_protocol(p: Protocol) -> bool {
    matches!(p, Protocol::Minbft | Protocol::Minzyzyva)
}
