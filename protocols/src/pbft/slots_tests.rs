//! The paper's §7 batch rule ([`BatchRule::Slots`]) at a PBFT primary, in a cluster: the
//! first request is ordered alone at once (no batch timer), requests that arrive while
//! the one slot is taken are batched into the next agreement, and `batch_size_max` still
//! bounds every batch.

use super::Config;
use super::cluster::{Cluster, Faults};
use super::messages::Message;
use crate::BatchRule;
use crate::node::NodeId;
use std::cell::RefCell;
use std::rc::Rc;

/// Runs 40 operations of 4 clients with batches of up to 2 and one slot under `rule`;
/// returns the PRE-PREPAREs' batch sizes in the order the primary sent them.
fn batches_under(rule: BatchRule) -> Vec<usize> {
    let mut config = Config::new(1, 4);
    config.batch_size_max = 2;
    config.outstanding_batches_max = 1;
    config.batch_rule = rule;
    config.checkpoint_period = 4;
    config.log_window = 8;
    let mut c = Cluster::new(config, 3, Faults::default(), 40);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let record = seen.clone();
    // Records (does not drop) each PRE-PREPARE once: its copy to replica 1.
    c.filter = Some(Box::new(move |_, to, m| {
        if let (Message::PrePrepare(pp), NodeId::Replica(1)) = (m, to) {
            record.borrow_mut().push(pp.batch.len());
        }
        false
    }));
    c.run(1_000_000);
    assert_eq!(c.completions.len(), 40, "{rule:?}");
    c.check_agreement().unwrap();
    seen.take()
}

#[test]
fn the_slot_rule_orders_at_once_and_batches_what_queued_meanwhile() {
    // Timer rule: the four clients' first requests fill two batches of two at once.
    let timer = batches_under(BatchRule::Timer);
    assert_eq!(timer[..2], [2, 2]);
    // Slot rule: client 0's request is ordered alone as it arrives; the next three queue
    // while the slot is taken and go into the next agreements, at most two at a time.
    let slots = batches_under(BatchRule::Slots);
    assert_eq!(slots[0], 1, "{slots:?}");
    assert_eq!(slots[1], 2, "{slots:?}");
    assert!(slots.iter().all(|&b| (1..=2).contains(&b)), "{slots:?}");
    assert_eq!(slots.iter().sum::<usize>(), 40);
}
