//! The wire format: postcard over the serde derives of [`Message`], with a frame-size
//! limit. Hostile bytes produce an error, never a panic.
//!
//! The codec is used only at the edge (the network adapter, traces); the simulator and the
//! in-memory driver pass decoded messages around and never encode on the hot path.

use super::messages::Message;
use crate::error::ProtocolError;
use crate::wire;
pub use crate::wire::FRAME_BYTES_MAX;

/// Encodes `msg`, appending to `buf` (reuse one buffer to avoid allocations).
pub fn encode_into(msg: &Message, buf: &mut Vec<u8>) -> Result<(), ProtocolError> {
    wire::encode_into(msg, buf)
}

/// Encodes `msg` into a fresh buffer.
pub fn encode(msg: &Message) -> Result<Vec<u8>, ProtocolError> {
    wire::encode(msg)
}

/// Decodes one message occupying all of `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Message, ProtocolError> {
    wire::decode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minbft::messages::*;
    use minlab_usig::{Certificate, Ui};
    use proptest::prelude::*;
    use std::sync::Arc;

    fn ui(counter: u64, tag: u8) -> Ui {
        Ui {
            counter,
            cert: Certificate::HmacSha1([tag; 20]),
        }
    }

    fn request(client: u32, seq: u64, op: Vec<u8>) -> Arc<Request> {
        Arc::new(Request {
            client,
            seq,
            op,
            auth: RequestAuth::Macs(vec![[3; 16]; 3]),
        })
    }

    fn samples(client: u32, seq: u64, op: Vec<u8>, counter: u64) -> Vec<Message> {
        let prepare = Arc::new(Prepare {
            view: seq,
            primary: 0,
            batch: vec![
                request(client, seq, op.clone()),
                request(client + 1, seq, vec![]),
            ],
            ui: ui(counter, 1),
        });
        let commit = Arc::new(Commit {
            view: seq,
            sender: 1,
            primary: 0,
            prepare_ui: ui(counter, 1),
            digest: [9; 32],
            ui: ui(counter + 1, 2),
        });
        let checkpoint = Arc::new(Checkpoint {
            sender: 2,
            view: 0,
            counter,
            state_digest: [4; 32],
            ui: Ui {
                counter,
                cert: Certificate::Ed25519([5; 64]),
            },
        });
        // A VIEW-CHANGE inside an evidence NEW-VIEW carries its own evidence as a digest.
        let stripped = Arc::new(ViewChange {
            sender: 2,
            new_view: 1,
            checkpoint_cert: vec![checkpoint.clone()],
            adopted: vec![],
            installed_view: 0,
            installed_base: (0, 0),
            installed_evidence: crate::minbft::evidence::InstalledEvidence::Stripped([6; 32]),
            log: vec![LoggedMessage::Checkpoint(checkpoint.clone())],
            ui: ui(counter, 4),
        });
        let evidence = Arc::new(NewView {
            sender: 1,
            new_view: 1,
            view_changes: vec![stripped],
            prepares: vec![prepare.clone()],
            ui: ui(8, 8),
        });
        let vc = Arc::new(ViewChange {
            sender: 1,
            new_view: 2,
            checkpoint_cert: vec![checkpoint.clone()],
            adopted: vec![prepare.clone()],
            installed_view: 1,
            installed_base: (0, 0),
            installed_evidence: crate::minbft::evidence::InstalledEvidence::Carried(vec![evidence]),
            log: vec![
                LoggedMessage::Prepare(prepare.clone()),
                LoggedMessage::Commit {
                    commit: commit.clone(),
                    prepare: prepare.clone(),
                },
                LoggedMessage::ViewChangeRecord {
                    new_view: 1,
                    digest: [1; 32],
                    ui: ui(2, 2),
                },
            ],
            ui: ui(counter + 2, 3),
        });
        vec![
            Message::Request(request(client, seq, op.clone())),
            Message::Reply(Box::new(Reply {
                replica: 1,
                client,
                seq,
                result: op,
                auth: Some([7; 16]),
            })),
            Message::Prepare(prepare.clone()),
            Message::Commit(commit),
            Message::Checkpoint(checkpoint.clone()),
            Message::ReqViewChange(Arc::new(ReqViewChange {
                sender: 1,
                view: 0,
                new_view: 1,
            })),
            Message::ViewChange(vc.clone()),
            Message::NewView(Arc::new(NewView {
                sender: 1,
                new_view: 1,
                view_changes: vec![vc],
                prepares: vec![prepare],
                ui: ui(9, 9),
            })),
            Message::StateRequest(Arc::new(StateRequest {
                sender: 0,
                counter,
                view: 0,
            })),
            Message::StateReply(Arc::new(StateReply {
                sender: 0,
                checkpoint_cert: vec![checkpoint],
                snapshot: vec![1, 2, 3],
                client_table: vec![],
            })),
        ]
    }

    #[test]
    fn oversized_frames_are_refused() {
        let big = vec![0u8; FRAME_BYTES_MAX + 1];
        assert!(matches!(
            decode(&big),
            Err(ProtocolError::FrameTooLarge { .. })
        ));
        let msg = Message::Request(request(0, 1, vec![0; FRAME_BYTES_MAX]));
        assert!(matches!(
            encode(&msg),
            Err(ProtocolError::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut b = encode(&samples(1, 1, vec![], 1)[0]).unwrap();
        b.push(0);
        assert_eq!(decode(&b), Err(ProtocolError::TrailingBytes(1)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_message_round_trips(
            client in any::<u32>(), seq in any::<u64>(),
            op in proptest::collection::vec(any::<u8>(), 0..64), counter in 1u64..u64::MAX - 4,
        ) {
            for m in samples(client.saturating_sub(1), seq, op.clone(), counter) {
                let bytes = encode(&m).unwrap();
                prop_assert_eq!(decode(&bytes).unwrap(), m);
            }
        }

        #[test]
        fn hostile_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn mutated_frames_never_panic(
            idx in any::<usize>(), val in any::<u8>(), cut in any::<usize>(), which in 0usize..10,
        ) {
            let m = samples(3, 4, b"abc".to_vec(), 5).swap_remove(which);
            let mut bytes = encode(&m).unwrap();
            let i = idx % bytes.len();
            bytes[i] = val;
            let _ = decode(&bytes);
            bytes.truncate(cut % (bytes.len() + 1));
            let _ = decode(&bytes);
        }
    }
}
