//! Unit tests of what backs a VIEW-CHANGE's installed-view claim ([`super::evidence`]):
//! real claims shown by the installed NEW-VIEW and forged ones rejected, nested claims,
//! the evidence cap, and a replica installed while behind (the bare forged claim is in
//! `vc_tests`).

use super::certify::view_change_bytes;
use super::vc_tests::{R, all_ask_for_view_1, group, order_first_request, pump_dropping, sent};
use super::*;
use crate::event::RejectReason;
use crate::node::View;
use crate::outbox::Outbox;
use crate::service::KvStore;
use crate::time::Instant;
use minlab_usig::{SymbolicUsig, Usig};
use std::sync::Arc;

// The lies of the checker's lie moves against a real installation: replica 1 (primary of view 1) installed view
// 1 with the batch replica 0 ordered in view 0 in `S`, no checkpoint of view 1 became
// stable, and its VIEW-CHANGE for view 2 carries view 1's NEW-VIEW. Replica 2, which never
// saw that NEW-VIEW, accepts it; it rejects the same VIEW-CHANGE with `adopted` emptied,
// and one whose evidence is a NEW-VIEW of view 1 replica 1 signed again with an empty `S`.
#[test]
fn a_claim_is_shown_by_the_installed_new_view_and_a_forged_one_is_rejected() {
    let mut rs = group(1);
    order_first_request(&mut rs, &[0, 1, 2]);
    assert!(rs.iter().all(|r| r.last_executed_by_client(0) == 1));
    let outs = all_ask_for_view_1(&mut rs, &[0, 1, 2]);
    pump_dropping(&mut rs, outs, |_, to, m| {
        matches!(m, Message::Checkpoint(_)) || (to == 2 && matches!(m, Message::NewView(_)))
    });
    assert!(!rs[1].is_changing_view() && rs[2].is_changing_view());
    let mut out = Outbox::new();
    rs[1].start_view_change(Instant::ZERO, 2, &mut out);
    let honest = sent(&out)
        .into_iter()
        .find_map(|m| match m {
            Message::ViewChange(v) => Some(v),
            _ => None,
        })
        .expect("a VIEW-CHANGE for view 2");
    assert_eq!(honest.installed_view, 1);
    assert_eq!(honest.adopted.len(), 1, "view 1's S: the batch of view 0");
    let evidence = honest.installed_evidence.new_views().to_vec();
    assert_eq!(evidence.len(), 1);
    assert_eq!(rs[2].check_view_change(&honest), Ok(()));
    // A lie re-signed by replica 1 (the model checker's move, with the evidence kept).
    let mut usig = rs[1].usig().clone();
    let resign = |mut lie: ViewChange, usig: &mut SymbolicUsig| {
        lie.log.push(LoggedMessage::ViewChangeRecord {
            new_view: 2,
            digest: super::certify::view_change_digest(&honest),
            ui: honest.ui.clone(),
        });
        lie.ui = usig.create_ui(&view_change_bytes(&lie)).unwrap();
        lie
    };
    let mut emptied = (*honest).clone();
    emptied.adopted.clear();
    let emptied = resign(emptied, &mut usig);
    let bad = Err(RejectReason::InvalidViewChange);
    assert_eq!(rs[2].check_view_change(&emptied), bad);
    // Its own NEW-VIEW of view 1 once more, with an empty S: S does not recompute, and
    // its UI does not follow its VIEW-CHANGE for view 1.
    let mut minted = (*evidence[0]).clone();
    minted.prepares.clear();
    minted.ui = usig
        .create_ui(&super::certify::new_view_bytes(&minted))
        .unwrap();
    let mut lie = (*honest).clone();
    lie.adopted.clear();
    lie.installed_evidence = super::evidence::InstalledEvidence::Carried(vec![Arc::new(minted)]);
    let lie = resign(lie, &mut usig);
    assert_eq!(rs[2].check_view_change(&lie), bad);
}

// Nested claims: views 1 and 2 installed with no checkpoint made stable (CHECKPOINTs lost),
// so the members of view 2's NEW-VIEW claim view 1 above their `C_latest`. A VIEW-CHANGE
// for view 3 carries view 2's NEW-VIEW (its members' evidence stripped to a digest) and
// view 1's, which proves those members' claims; without view 1's it is rejected.
#[test]
fn nested_claims_are_proven_by_a_flat_list_of_new_views() {
    let mut rs = group(1);
    order_first_request(&mut rs, &[0, 1, 2]);
    let no_checkpoints = |_: u32, _: u32, m: &Message| matches!(m, Message::Checkpoint(_));
    let outs = all_ask_for_view_1(&mut rs, &[0, 1, 2]);
    pump_dropping(&mut rs, outs, no_checkpoints);
    assert!(rs.iter().all(|r| r.view() == 1 && !r.is_changing_view()));
    let mut outs = Vec::new();
    for id in 0..3 {
        let mut out = Outbox::new();
        rs[id as usize].start_view_change(Instant::ZERO, 2, &mut out);
        outs.push((id, out));
    }
    pump_dropping(&mut rs, outs, no_checkpoints);
    assert!(rs.iter().all(|r| r.view() == 2 && !r.is_changing_view()));
    let mut out = Outbox::new();
    rs[0].start_view_change(Instant::ZERO, 3, &mut out);
    let vc = sent(&out)
        .into_iter()
        .find_map(|m| match m {
            Message::ViewChange(v) => Some(v),
            _ => None,
        })
        .expect("a VIEW-CHANGE for view 3");
    let evidence = vc.installed_evidence.new_views().to_vec();
    let views: Vec<View> = evidence.iter().map(|nv| nv.new_view).collect();
    assert_eq!(views, vec![2, 1]);
    assert!(
        evidence[0]
            .view_changes
            .iter()
            .all(|m| m.installed_view == 1
                && matches!(
                    m.installed_evidence,
                    super::evidence::InstalledEvidence::Stripped(_)
                ))
    );
    assert_eq!(rs[1].check_view_change(&vc), Ok(()));
    // Re-signed by replica 0 (its unsent original in O): with the whole evidence it
    // passes; without view 1's NEW-VIEW it does not.
    let resign = |evidence: Vec<Arc<NewView>>| {
        let mut again = (*vc).clone();
        again.installed_evidence = super::evidence::InstalledEvidence::Carried(evidence);
        again.log.push(LoggedMessage::ViewChangeRecord {
            new_view: 3,
            digest: super::certify::view_change_digest(&vc),
            ui: vc.ui.clone(),
        });
        again.ui = rs[0]
            .usig()
            .clone()
            .create_ui(&view_change_bytes(&again))
            .unwrap();
        again
    };
    assert_eq!(rs[1].check_view_change(&resign(evidence.clone())), Ok(()));
    assert_eq!(
        rs[1].check_view_change(&resign(vec![evidence[0].clone()])),
        Err(RejectReason::InvalidViewChange)
    );
    // At most EVIDENCE_NEW_VIEWS_MAX NEW-VIEWs (here repeated, each valid).
    let max = super::evidence::EVIDENCE_NEW_VIEWS_MAX;
    let padded = |k: usize| [vec![evidence[0].clone(); k - 1], vec![evidence[1].clone()]].concat();
    assert_eq!(rs[1].check_view_change(&resign(padded(max))), Ok(()));
    assert_eq!(
        rs[1].check_view_change(&resign(padded(max + 1))),
        Err(RejectReason::InvalidViewChange)
    );
}

// Liveness of the former own-CHECKPOINT bound: a replica that installed a view while
// behind the stable checkpoint where its S starts takes no CHECKPOINT of the view until
// its state transfer ends, so its VIEW-CHANGEs were rejected meanwhile. They carry the
// installed NEW-VIEW now and are valid.
#[test]
fn a_replica_installed_while_behind_sends_a_valid_view_change_before_its_state_transfer() {
    let mut c = Config::new(1, 2);
    c.checkpoint_period = 1;
    let c = Arc::new(c);
    let mut rs: Vec<R> = (0..3)
        .map(|id| {
            let dir = ClientDirectory::from_seed(c.client_auth, id, c.client_count, 5);
            Replica::new(
                c.clone(),
                Arc::new(dir),
                SymbolicUsig::new(id, 3),
                KvStore::new(),
            )
            .unwrap()
        })
        .collect();
    // Replicas 0 and 1 execute a request and make its checkpoint stable; replica 2 hears
    // nothing of it.
    order_first_request(&mut rs, &[0, 1]);
    assert_eq!(rs[2].last_executed_by_client(0), 0);
    let outs = all_ask_for_view_1(&mut rs, &[0, 1, 2]);
    pump_dropping(&mut rs, outs, |_, to, m| {
        to == 2
            && matches!(
                m,
                Message::Checkpoint(_) | Message::StateReply(_) | Message::Prepare(_)
            )
    });
    assert!(!rs[2].is_changing_view() && rs[2].view() == 1, "installed");
    assert_eq!(rs[2].last_executed_by_client(0), 0, "still behind");
    let mut out = Outbox::new();
    rs[2].start_view_change(Instant::ZERO, 2, &mut out);
    let vc = sent(&out)
        .into_iter()
        .find_map(|m| match m {
            Message::ViewChange(v) => Some(v),
            _ => None,
        })
        .expect("a VIEW-CHANGE for view 2");
    assert_eq!(vc.installed_view, 1);
    assert!(vc.checkpoint_cert.is_empty());
    assert!(
        !vc.log
            .iter()
            .any(|m| matches!(m, LoggedMessage::Checkpoint(_))),
        "no CHECKPOINT of its own"
    );
    assert_eq!(rs[0].check_view_change(&vc), Ok(()));
}
