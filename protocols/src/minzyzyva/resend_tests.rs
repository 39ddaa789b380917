//! Answers to retransmissions that the paper's MinZyzyva leaves out: a REPLY from the
//! stable checkpoint for a request whose RESPONSEs are gone ([`StableReply`]), and a
//! REQ-VIEW-CHANGE sent again at every request-timer expiry.

use super::Replica;
use super::certify::{
    local_commit_auth_bytes, response_auth_bytes, result_digest, stable_reply_auth_bytes,
};
use super::cluster::{Cluster, Faults};
use super::messages::{Message, StableReply};
use crate::event::{Event, RejectReason};
use crate::minbft::auth::{ClientAuth, ClientDirectory, ClientKeyring};
use crate::minbft::config::Config;
use crate::minbft::messages::{MessageKind, Request, RequestAuth};
use crate::node::NodeId;
use crate::outbox::{Outbox, Output, TimerKind};
use crate::service::{KvOp, KvStore};
use crate::time::Instant;
use minlab_usig::SymbolicUsig;
use std::sync::Arc;

fn config(clients: u32) -> Config {
    let mut c = Config::new(1, clients);
    c.checkpoint_period = 4;
    c.log_window = 16;
    c.client_auth = ClientAuth::MacAuthenticator;
    c
}

#[test]
fn a_request_below_the_stable_checkpoint_completes_on_replies_without_responses() {
    // Every RESPONSE and LOCAL-COMMIT for request 4 is lost: as for a replica that skipped
    // it by state transfer, no replica can give the client the f + 1 matching RESPONSEs
    // a commit certificate needs. Request 4 fills slot 4, whose checkpoint becomes stable,
    // so the replicas answer the resent request with REPLYs from it.
    let mut c = Cluster::new(config(1), 3, Faults::default(), 4);
    c.filter = Some(Box::new(|_, _, m| match m {
        Message::Response(r) => r.seq == 4,
        Message::LocalCommit(l) => l.seq == 4,
        _ => false,
    }));
    c.run(10_000);
    assert_eq!(c.completions, vec![(0, 1), (0, 2), (0, 3), (0, 4)]);
    c.check_completions().unwrap();
    let replies: u64 = c
        .replicas
        .iter()
        .map(|r| r.metrics().sent_of(MessageKind::Reply))
        .sum();
    assert!(replies >= 2, "{replies} REPLYs");
    assert!(c.replicas.iter().all(|r| r.low_water_mark() == 4));
}

#[test]
fn a_replica_replies_only_for_the_last_request_recorded_at_its_stable_checkpoint() {
    // Request 3 is executed but above the stable checkpoint (none yet): no REPLY, only
    // the cached RESPONSE.
    let mut c = Cluster::new(config(1), 3, Faults::default(), 3);
    c.run(10_000);
    assert_eq!(c.completions.len(), 3);
    let resent = resend(&mut c.replicas[1], 3);
    assert!(resent.contains(&MessageKind::Response), "{resent:?}");
    assert!(!resent.contains(&MessageKind::Reply), "{resent:?}");
    // Request 4 makes slot 4 stable: now request 4 gets a REPLY, request 3 (no longer
    // the client's last) nothing.
    let mut c = Cluster::new(config(1), 3, Faults::default(), 4);
    c.run(10_000);
    assert_eq!(c.replicas[1].low_water_mark(), 4);
    let resent = resend(&mut c.replicas[1], 4);
    assert!(resent.contains(&MessageKind::Reply), "{resent:?}");
    assert_eq!(resend(&mut c.replicas[1], 3), Vec::new());
}

/// Client 0's request `seq` (a read of key 0), authenticated with the cluster's seed-3 keys.
fn request(seq: u64) -> Arc<Request> {
    let keys = ClientKeyring::from_seed(ClientAuth::MacAuthenticator, 0, 3, 3);
    let mut req = Request {
        client: 0,
        seq,
        op: KvOp::Get { key: 0 }.encode(),
        auth: RequestAuth::None,
    };
    req.auth = keys.authenticate(&req);
    Arc::new(req)
}

/// Client 0 resends its request `seq` to `replica` (which answers a request it executed
/// before checking its contents): the kinds of what it sends back.
fn resend(replica: &mut Replica<SymbolicUsig, KvStore>, seq: u64) -> Vec<MessageKind> {
    let mut out = Outbox::new();
    replica.on_message(
        Instant::ZERO,
        NodeId::Client(0),
        Message::Request(request(seq)),
        &mut out,
    );
    out.as_slice()
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                to: NodeId::Client(0),
                msg,
            } => Some(msg.kind()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_client_completes_on_f_plus_1_matching_replies_and_checks_each() {
    let cfg = Arc::new(config(1));
    let keys = ClientKeyring::from_seed(cfg.client_auth, 0, 3, 7);
    let (mut client, _) = super::tests::client_with_request(&cfg, keys);
    let reply = |replica: u32, seq: u64, result: &[u8], view: u64| StableReply {
        replica,
        client: 0,
        seq,
        result: result.to_vec(),
        view,
        auth: ClientDirectory::from_seed(cfg.client_auth, replica, 1, 7).reply_auth(
            0,
            seq,
            &stable_reply_auth_bytes(view, &result_digest(result)),
        ),
    };
    let mut deliver = |from: u32, r: StableReply| {
        let mut out = Outbox::new();
        client.on_message(
            Instant::ZERO,
            NodeId::Replica(from),
            Message::StableReply(Arc::new(r)),
            &mut out,
        );
        out.events().find_map(|e| match e {
            Event::MessageRejected { reason, .. } => Some(Err(*reason)),
            Event::Completed { result, .. } => Some(Ok(result.clone())),
            _ => None,
        })
    };
    assert_eq!(deliver(0, reply(0, 1, b"a", 2)), None, "f replies");
    assert_eq!(deliver(1, reply(1, 1, b"b", 1)), None, "another result");
    assert_eq!(deliver(2, reply(2, 2, b"a", 1)), None, "another request");
    let mut forged = reply(2, 1, b"a", 1);
    forged.result = b"b".to_vec();
    assert_eq!(deliver(2, forged), Some(Err(RejectReason::BadReplyAuth)));
    // A replica's MAC on a LOCAL-COMMIT (or a RESPONSE) does not pass as a REPLY's, not
    // even one whose result is those very bytes (as it would if a REPLY's MAC covered the
    // bare result): each covers a differently tagged or sized byte string.
    for other in [
        local_commit_auth_bytes(1, 7).to_vec(),
        response_auth_bytes(1, 7, &result_digest(b"a"), &[3; 32]).to_vec(),
    ] {
        let mut replayed = reply(2, 1, &other, 1);
        replayed.auth =
            ClientDirectory::from_seed(cfg.client_auth, 2, 1, 7).reply_auth(0, 1, &other);
        assert_eq!(deliver(2, replayed), Some(Err(RejectReason::BadReplyAuth)));
    }
    assert_eq!(
        deliver(1, reply(2, 1, b"a", 1)),
        Some(Err(RejectReason::WrongSender))
    );
    assert_eq!(deliver(2, reply(2, 1, b"a", 1)), Some(Ok(b"a".to_vec())));
    assert!(client.is_idle());
    assert_eq!(client.view_hint(), 1, "the lowest view of the quorum");
}

#[test]
fn a_backup_asks_again_for_a_view_change_at_every_request_timeout() {
    // The backup's first REQ-VIEW-CHANGE may be lost; the client resending its request
    // re-arms the request timer, and its expiry sends the REQ-VIEW-CHANGE again.
    let cfg = config(1);
    let timeout = cfg.request_timeout;
    let mut c = Cluster::new(cfg, 3, Faults::default(), 0);
    let req = request(1);
    let backup = &mut c.replicas[1];
    let mut now = Instant::ZERO;
    for round in 0..3 {
        let mut out = Outbox::new();
        backup.on_message(
            now,
            NodeId::Client(0),
            Message::Request(req.clone()),
            &mut out,
        );
        now += timeout;
        let mut out = Outbox::new();
        backup.on_timer(now, TimerKind::RequestTimeout, &mut out);
        let asked = out.as_slice().iter().any(|o| {
            matches!(o, Output::Broadcast { msg: Message::ReqViewChange(m) } if m.new_view == 1)
        });
        assert!(asked, "round {round}: {:?}", out.as_slice());
    }
}
