//! Untrusted input that is wrong is rejected and changes no state (STYLE.md, Sans-IO):
//! take the replica-to-replica messages of a real run, corrupt one field, deliver it to
//! the receiver as it was just before the genuine message arrived, and compare states.

use minlab_protocols::event::Event;
use minlab_protocols::minbft::{Config, Message};
use minlab_protocols::service::{KvOp, KvStore};
use minlab_protocols::testkit::{Cluster, ClusterOptions, Envelope, NetworkFaults};
use minlab_protocols::{Instant, NodeId, Outbox, Output, Replica};
use minlab_usig::{Certificate, SymbolicUsig, Ui};
use proptest::prelude::*;
use std::sync::{Arc, OnceLock};

type R = Replica<SymbolicUsig, KvStore>;

/// (sender, receiver state before delivery, genuine message) for every replica message
/// of a short run with checkpoints.
fn tapped() -> &'static Vec<(NodeId, R, Message)> {
    static TAP: OnceLock<Vec<(NodeId, R, Message)>> = OnceLock::new();
    TAP.get_or_init(|| {
        let mut config = Config::new(1, 2);
        config.batch_size_max = 2;
        config.checkpoint_period = 2;
        config.log_window = 4;
        let opts = ClusterOptions {
            config,
            seed: 3,
            // 1 in 1000 duplicated: enough to queue broadcasts per recipient.
            faults: NetworkFaults {
                duplicate_per_mille: 1,
                ..NetworkFaults::default()
            },
            record: false,
            operations: 10,
        };
        let op = |c: u32, s: u64| {
            KvOp::Put {
                key: u64::from(c),
                value: vec![s as u8],
            }
            .encode()
        };
        let mut c = Cluster::new(
            opts,
            |r| SymbolicUsig::new(r, 3),
            |_| KvStore::new(),
            Box::new(op),
        )
        .unwrap();
        c.start();
        let mut tap = Vec::new();
        loop {
            if let Some(Envelope {
                from: from @ NodeId::Replica(_),
                to: Some(NodeId::Replica(to)),
                msg,
            }) = c.peek_next()
            {
                tap.push((*from, c.replicas[*to as usize].clone(), msg.clone()));
            }
            if !c.step() || c.completed() == 10 {
                break;
            }
        }
        assert!(tap.len() > 30);
        tap
    })
}

fn bump(ui: &mut Ui) {
    match &mut ui.cert {
        Certificate::Symbolic(d) => *d ^= 1,
        _ => ui.counter += 1,
    }
}

fn corrupt(msg: &Message, which: u8) -> Message {
    match msg {
        Message::Prepare(p) => {
            let mut p = (**p).clone();
            match which % 5 {
                0 => bump(&mut p.ui),
                1 => p.view += 1,
                2 => p.primary = (p.primary + 1) % 3,
                3 => p.batch.clear(),
                _ => p.ui.counter += 1,
            }
            Message::Prepare(Arc::new(p))
        }
        Message::Commit(c) => {
            let mut c = (**c).clone();
            match which % 5 {
                0 => bump(&mut c.ui),
                1 => c.digest[0] ^= 1,
                2 => c.sender = 7,
                3 => c.prepare_ui.counter += 1,
                _ => c.view += 3,
            }
            Message::Commit(Arc::new(c))
        }
        Message::Checkpoint(c) => {
            let mut c = (**c).clone();
            match which % 4 {
                0 => bump(&mut c.ui),
                1 => c.state_digest[0] ^= 1,
                2 => c.sender = (c.sender + 1) % 3,
                _ => c.counter += 1,
            }
            Message::Checkpoint(Arc::new(c))
        }
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn rejected_input_changes_nothing(pick in any::<prop::sample::Index>(), which in any::<u8>()) {
        let (from, receiver, msg) = pick.get(tapped()).clone();
        let mut replica = receiver.clone();
        let mut out = Outbox::new();
        replica.on_message(Instant(1), from, corrupt(&msg, which), &mut out);
        let rejected = out
            .as_slice()
            .iter()
            .any(|o| matches!(o, Output::Event(Event::MessageRejected { .. })));
        prop_assert!(rejected, "a corrupted message must be rejected: {:?}", out.as_slice());
        prop_assert_eq!(out.len(), 1, "a rejection is the only output");
        prop_assert!(replica == receiver, "state changed on a rejected message");
    }
}
