//! The MinZyzyva scripts driven by hand against correct replicas and a correct client: each
//! does what its documentation says, and the protocol's defence holds.

use super::build_minzyzyva_replica;
use crate::adversary::Adversary;
use minlab_protocols::minbft::{ClientAuth, ClientDirectory, ClientKeyring, Config};
use minlab_protocols::minzyzyva::certify::{
    order_digest, outcome_root_of, response_bytes, result_digest,
};
use minlab_protocols::minzyzyva::{Client, FillHole, Message, OrderReq, Replica, Response};
use minlab_protocols::service::KvStore;
use minlab_protocols::{Event, Instant, NodeId, Outbox, Output, TimerKind};
use minlab_usig::{SymbolicUsig, Usig};
use std::sync::Arc;

const SEED: u64 = 11;

fn config() -> Arc<Config> {
    let mut c = Config::new(1, 2); // f = 1: 3 replicas; 2 clients
    c.client_auth = ClientAuth::MacAuthenticator;
    Arc::new(c)
}

fn replica(config: &Arc<Config>, id: u32) -> Replica<SymbolicUsig, KvStore> {
    let dir = ClientDirectory::from_seed(config.client_auth, id, config.client_count, SEED);
    Replica::new(
        config.clone(),
        Arc::new(dir),
        SymbolicUsig::new(id, config.replica_count),
        KvStore::new(),
    )
    .unwrap()
}

fn client(config: &Arc<Config>, id: u32) -> Client<SymbolicUsig> {
    let keys = ClientKeyring::from_seed(config.client_auth, id, config.replica_count, SEED);
    Client::new(
        id,
        config.clone(),
        Arc::new(keys),
        SymbolicUsig::new(u32::MAX, config.replica_count),
    )
    .unwrap()
}

fn script(
    name: &str,
    params: &str,
    inner: Replica<SymbolicUsig, KvStore>,
) -> Box<dyn Adversary<Message>> {
    build_minzyzyva_replica(name, &toml::from_str(params).unwrap(), inner).unwrap()
}

/// A put of `value` under key 1, encoded for the key-value store.
fn put(value: u8) -> Vec<u8> {
    minlab_protocols::service::KvOp::Put {
        key: 1,
        value: vec![value],
    }
    .encode()
}

fn messages(out: &mut Outbox<Message>) -> Vec<Output<Message>> {
    out.drain()
        .filter(|o| matches!(o, Output::Send { .. } | Output::Broadcast { .. }))
        .collect()
}

fn broadcast_orders(outputs: &[Output<Message>]) -> Vec<Arc<OrderReq>> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Broadcast {
                msg: Message::OrderReq(order),
            } => Some(order.clone()),
            _ => None,
        })
        .collect()
}

fn responses(outputs: &[Output<Message>]) -> Vec<Arc<Response>> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                msg: Message::Response(r),
                ..
            } => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn completed(out: &mut Outbox<Message>) -> Option<Vec<u8>> {
    out.drain().find_map(|o| match o {
        Output::Event(Event::Completed { result, .. }) => Some(result),
        _ => None,
    })
}

/// Paper §5: a replica lying in its RESPONSE (under a valid `UI_s`) keeps the client from
/// completing graciously; the client's commit certificate holds the two honest responses
/// and it completes, on LOCAL-COMMITs, with the honest result.
#[test]
fn wrong_responses_lie_under_valid_uis_and_the_client_commits_the_truth() {
    for lie in ["result", "history"] {
        let config = config();
        let now = Instant::ZERO;
        let (mut primary, mut backup) = (replica(&config, 0), replica(&config, 1));
        let mut liar = script(
            "wrong-responses",
            &format!("lie = {lie:?}"),
            replica(&config, 2),
        );
        let mut c = client(&config, 0);
        let mut out = Outbox::new();
        c.submit(now, put(7), &mut out).unwrap();
        let Some(Output::Send {
            msg: request @ Message::Request(_),
            ..
        }) = messages(&mut out).pop()
        else {
            panic!("no request")
        };
        primary.on_message(now, NodeId::Client(0), request, &mut out);
        let from_primary = messages(&mut out);
        let order = broadcast_orders(&from_primary).pop().expect("ordered");
        let mut all = responses(&from_primary);
        backup.on_message(
            now,
            NodeId::Replica(0),
            Message::OrderReq(order.clone()),
            &mut out,
        );
        all.extend(responses(&messages(&mut out)));
        liar.on_message(
            now,
            NodeId::Replica(0),
            Message::OrderReq(order.clone()),
            &mut out,
        );
        let wrong = responses(&messages(&mut out))
            .pop()
            .expect("the liar responds");
        let honest = all[1].clone();
        assert_eq!(wrong.replica, 2);
        match lie {
            "result" => {
                assert_ne!(wrong.result, honest.result);
                assert_eq!(wrong.history, honest.history);
            }
            _ => {
                assert_eq!(wrong.result, honest.result);
                assert_ne!(wrong.history, honest.history);
            }
        }
        // Its UI_s is valid over the lie: only the mismatch gives it away.
        let bytes = response_bytes(
            wrong.view,
            wrong.order_ui.counter,
            &order_digest(&order.batch),
            &outcome_root_of(&result_digest(&wrong.result), &wrong.in_batch).unwrap(),
            &wrong.history,
        );
        let verifier = SymbolicUsig::new(u32::MAX, 3);
        verifier
            .verify_ui(2, wrong.ui.as_ref().unwrap(), &bytes)
            .unwrap();
        all.push(wrong.clone());
        for r in all {
            c.on_message(
                now,
                NodeId::Replica(r.replica),
                Message::Response(r),
                &mut out,
            );
        }
        assert!(
            !out.as_slice()
                .iter()
                .any(|o| matches!(o, Output::Event(Event::MessageRejected { .. }))),
            "{lie}: every response is valid"
        );
        assert_eq!(
            completed(&mut out),
            None,
            "{lie}: no 2f + 1 matching responses"
        );
        c.on_timer(now, TimerKind::Retransmit, &mut out);
        let commit = messages(&mut out)
            .into_iter()
            .find_map(|o| match o {
                Output::Broadcast {
                    msg: Message::Commit(commit),
                } => Some(commit),
                _ => None,
            })
            .expect("a commit certificate");
        let signers: Vec<u32> = commit.responses.iter().map(|r| r.replica).collect();
        assert_eq!(
            signers,
            [0, 1],
            "{lie}: the certificate leaves the liar out"
        );
        for r in [&mut primary, &mut backup] {
            r.on_message(
                now,
                NodeId::Client(0),
                Message::Commit(commit.clone()),
                &mut out,
            );
            for o in messages(&mut out) {
                if let Output::Send { msg, .. } = o {
                    c.on_message(now, NodeId::Replica(r.id()), msg, &mut out);
                }
            }
        }
        assert_eq!(completed(&mut out), Some(honest.result.clone()), "{lie}");
    }
}

/// Paper §5: the primary orders one request under two UIs; the backup accepts both in
/// FIFO order (the second takes a history slot) and executes and answers only once.
#[test]
fn duplicate_order_orders_twice_and_a_correct_backup_executes_once() {
    let config = config();
    let now = Instant::ZERO;
    let mut primary = script("duplicate-order", "", replica(&config, 0));
    let mut backup = replica(&config, 1);
    let mut c = client(&config, 0);
    let mut out = Outbox::new();
    c.submit(now, put(1), &mut out).unwrap();
    let Some(Output::Send { msg: request, .. }) = messages(&mut out).pop() else {
        panic!("no request")
    };
    primary.on_message(now, NodeId::Client(0), request, &mut out);
    let orders = broadcast_orders(&messages(&mut out));
    assert_eq!(orders.len(), 2, "the request and its duplicate");
    assert_eq!(orders[0].batch, orders[1].batch);
    assert_eq!(orders[1].ui.counter, orders[0].ui.counter + 1);
    let mut answers = 0;
    for o in &orders {
        backup.on_message(
            now,
            NodeId::Replica(0),
            Message::OrderReq(o.clone()),
            &mut out,
        );
        let outputs: Vec<_> = out.drain().collect();
        assert!(
            !outputs
                .iter()
                .any(|o| matches!(o, Output::Event(Event::MessageRejected { .. }))),
            "the duplicate is a valid ORDER-REQ: {outputs:?}"
        );
        answers += responses(&outputs).len();
    }
    assert_eq!(backup.history_len(), 2);
    assert_eq!(backup.executed_count(), 1);
    assert_eq!(answers, 1, "one RESPONSE, for the first ORDER-REQ");

    // A FILL-HOLE for the duplicate's counter value is answered with it: the wrapped
    // replica never logged it.
    let hole = FillHole {
        sender: 2,
        view: 0,
        from: orders[1].ui.counter,
        to: orders[1].ui.counter,
    };
    primary.on_message(
        now,
        NodeId::Replica(2),
        Message::FillHole(Arc::new(hole)),
        &mut out,
    );
    let resent: Vec<_> = messages(&mut out)
        .into_iter()
        .filter_map(|o| match o {
            Output::Send {
                to: NodeId::Replica(2),
                msg: Message::OrderReq(o),
            } => Some(o),
            _ => None,
        })
        .collect();
    assert_eq!(resent, [orders[1].clone()]);
}

/// With `lag`, the duplicate follows later ORDER-REQs: here the other client's request.
#[test]
fn duplicate_order_with_lag_orders_again_after_later_requests() {
    let config = config();
    let now = Instant::ZERO;
    let mut primary = script("duplicate-order", "every = 1\nlag = 1", replica(&config, 0));
    let mut backup = replica(&config, 1);
    let mut orders = Vec::new();
    let mut out = Outbox::new();
    for id in 0..2 {
        let mut c = client(&config, id);
        c.submit(now, put(id as u8), &mut out).unwrap();
        let Some(Output::Send { msg: request, .. }) = messages(&mut out).pop() else {
            panic!("no request")
        };
        primary.on_message(now, NodeId::Client(id), request, &mut out);
        orders.extend(broadcast_orders(&messages(&mut out)));
    }
    let clients: Vec<u32> = orders.iter().map(|o| o.batch[0].client).collect();
    assert_eq!(
        clients,
        [0, 1, 0],
        "client 0's request ordered again after client 1's"
    );
    for o in &orders {
        backup.on_message(
            now,
            NodeId::Replica(0),
            Message::OrderReq(o.clone()),
            &mut out,
        );
    }
    assert_eq!(backup.history_len(), 3);
    assert_eq!(backup.executed_count(), 2);
}

#[test]
fn bad_parameters_are_refused_with_the_parameter_named() {
    let config = config();
    for (name, params, needle) in [
        ("wrong-responses", "lie = \"everything\"", "lie"),
        ("wrong-responses", "lie = 3", "lie"),
        (
            "wrong-responses",
            "every = 2",
            "unknown parameter \"every\"",
        ),
        ("duplicate-order", "every = 0", "every"),
        ("duplicate-order", "lag = -1", "lag"),
        ("duplicate-order", "lag = \"1\"", "lag"),
        (
            "duplicate-order",
            "victims = [1]",
            "unknown parameter \"victims\"",
        ),
    ] {
        let table = toml::from_str(params).unwrap();
        let e = build_minzyzyva_replica(name, &table, replica(&config, 0))
            .err()
            .unwrap_or_else(|| panic!("{name} {params} was accepted"))
            .to_string();
        assert!(
            e.contains(name) && e.contains(needle),
            "{name} {params}: {e}"
        );
    }
}

/// Paper §5 with `request = "altered"`: the primary orders, first, the client's request
/// with another operation under the client's `seq` (authenticator kept), then the real one.
/// With authenticated clients the backup refuses the altered request and stops at that
/// counter value (FILL-HOLE and a view change follow); unauthenticated, it would execute the
/// altered operation for the client's `seq`, skip the real request, and the client would
/// refuse the response (its `UI_p` is for another request): why the model authenticates
/// clients.
#[test]
fn duplicate_order_altered_is_refused_by_authenticated_backups() {
    for auth in [ClientAuth::MacAuthenticator, ClientAuth::None] {
        let mut config = Config::new(1, 2);
        config.client_auth = auth;
        let config = Arc::new(config);
        let now = Instant::ZERO;
        let mut primary = script(
            "duplicate-order",
            "request = \"altered\"",
            replica(&config, 0),
        );
        let mut backup = replica(&config, 1);
        let mut c = client(&config, 0);
        let mut out = Outbox::new();
        c.submit(now, put(1), &mut out).unwrap();
        let Some(Output::Send { msg: request, .. }) = messages(&mut out).pop() else {
            panic!("no request")
        };
        primary.on_message(now, NodeId::Client(0), request.clone(), &mut out);
        let outputs = messages(&mut out);
        let orders = broadcast_orders(&outputs);
        assert_eq!(orders.len(), 2, "{auth:?}");
        let Message::Request(real) = request else {
            unreachable!()
        };
        assert_eq!(
            orders[1].batch[0], real,
            "{auth:?}: the real request second"
        );
        assert_eq!(
            (orders[0].batch[0].client, orders[0].batch[0].seq),
            (real.client, real.seq),
            "{auth:?}"
        );
        assert_ne!(orders[0].batch[0].op, real.op, "{auth:?}");
        // The primary itself executed the real request and answers it.
        let from_primary = responses(&outputs);
        assert_eq!(from_primary.len(), 1);
        let mut backup_outputs = Vec::new();
        for o in &orders {
            backup.on_message(
                now,
                NodeId::Replica(0),
                Message::OrderReq(o.clone()),
                &mut out,
            );
            backup_outputs.extend(out.drain());
        }
        let refused = backup_outputs.iter().any(|o| {
            matches!(
                o,
                Output::Event(Event::MessageRejected {
                    reason: minlab_protocols::RejectReason::BadClientAuth,
                    ..
                })
            )
        });
        match auth {
            ClientAuth::None => {
                assert!(!refused);
                assert_eq!(backup.executed_count(), 1, "the altered operation, once");
                assert_eq!(backup.history_len(), 2);
                // Its response answers the altered request: the client refuses it.
                let answer = responses(&backup_outputs).pop().expect("a response");
                c.on_message(now, NodeId::Replica(1), Message::Response(answer), &mut out);
                assert!(
                    out.drain().any(|o| matches!(
                        o,
                        Output::Event(Event::MessageRejected {
                            reason: minlab_protocols::RejectReason::BadUi,
                            ..
                        })
                    )),
                    "the client's UI_p check refuses it"
                );
            }
            _ => {
                assert!(refused, "{backup_outputs:?}");
                assert_eq!(backup.executed_count(), 0);
                assert_eq!(
                    backup.history_len(),
                    0,
                    "the stream stops at the altered one"
                );
            }
        }
    }
}
