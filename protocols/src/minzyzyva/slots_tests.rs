//! The paper's §7 batch rule ([`BatchRule::Slots`]) at a MinZyzyva primary. A speculative
//! primary waits for no agreement, so every slot is free while its history window has
//! room: it orders whatever is queued at once, and holds requests queued (no ORDER-REQ
//! above the window) while the window is full.

use super::cluster::{Cluster, Faults};
use super::messages::Message;
use crate::BatchRule;
use crate::minbft::auth::ClientAuth;
use crate::minbft::config::Config;
use crate::minbft::messages::MessageKind;
use crate::time::{Duration, Instant};

fn config(clients: u32) -> Config {
    let mut c = Config::new(1, clients);
    c.checkpoint_period = 4;
    c.log_window = 16;
    c.client_auth = ClientAuth::MacAuthenticator;
    c.batch_size_max = 8;
    c.batch_timeout = Duration::from_millis(3);
    c.batch_rule = BatchRule::Slots;
    c
}

#[test]
fn a_lone_request_is_ordered_at_once_without_the_batch_timer() {
    // Under the timer rule the same request waits 3 ms for the batch timer
    // (`a_partial_batch_waits_for_the_batch_timer`).
    let mut c = Cluster::new(config(1), 5, Faults::default(), 1);
    c.run(1_000);
    assert_eq!(c.completions, vec![(0, 1)]);
    assert_eq!(c.now, Instant::ZERO, "completed before any timer fired");
}

#[test]
fn a_full_history_window_holds_requests_queued() {
    // Every CHECKPOINT is lost: none becomes stable, so at most `log_window` ORDER-REQs go
    // out, then requests stay queued; virtual time goes on (clients resend).
    let cfg = config(3);
    let window = cfg.log_window;
    let mut c = Cluster::new(cfg, 9, Faults::default(), 60);
    c.filter = Some(Box::new(|_, _, m| matches!(m, Message::Checkpoint(_))));
    c.run(20_000);
    let orders = c.replicas[0].metrics().sent_of(MessageKind::OrderReq);
    assert!(
        orders <= window,
        "{orders} ORDER-REQs above a window of {window}"
    );
    assert_eq!(c.replicas[0].history_len(), window, "the window filled");
    let then = c.now;
    c.run(25_000);
    assert!(c.now > then, "virtual time stopped at {then:?}");
    assert_eq!(
        c.replicas[0].metrics().sent_of(MessageKind::OrderReq),
        orders,
        "nothing ordered while the window stays full"
    );
}
