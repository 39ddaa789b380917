//! PBFT's wire format: postcard over the serde derives of [`Message`], with the same
//! frame-size limit as MinBFT's. Hostile bytes produce an error, never a panic.

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
    use crate::minbft::messages::{Reply, Request, RequestAuth};
    use crate::pbft::messages::*;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn request(client: u32, seq: u64, op: Vec<u8>) -> Arc<Request> {
        Arc::new(Request {
            client,
            seq,
            op,
            auth: RequestAuth::Macs(vec![[3; 16]; 4]),
        })
    }

    fn samples(client: u32, seq: u64, op: Vec<u8>, view: u64) -> Vec<Message> {
        let auth = Authenticator(vec![[1; 16], [0; 16], [2; 16], [3; 16]]);
        vec![
            Message::Request(request(client, seq, op.clone())),
            Message::Reply(Box::new(Reply {
                replica: 1,
                client,
                seq,
                result: op.clone(),
                auth: Some([7; 16]),
            })),
            Message::PrePrepare(Arc::new(PrePrepare {
                view,
                seq,
                primary: 0,
                batch: vec![request(client, seq, op), request(client ^ 1, seq, vec![])],
                auth: auth.clone(),
            })),
            Message::Prepare(Arc::new(Prepare {
                view,
                seq,
                digest: [9; 32],
                sender: 1,
                auth: auth.clone(),
            })),
            Message::Commit(Arc::new(Commit {
                view,
                seq,
                digest: [8; 32],
                sender: 2,
                auth: auth.clone(),
            })),
            Message::Checkpoint(Arc::new(Checkpoint {
                seq,
                state_digest: [4; 32],
                sender: 3,
                auth,
            })),
        ]
    }

    #[test]
    fn oversized_and_trailing_frames_are_refused() {
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
        let mut b = encode(&samples(1, 1, vec![], 0)[2]).unwrap();
        b.push(0);
        assert_eq!(decode(&b), Err(ProtocolError::TrailingBytes(1)));
        assert!(matches!(decode(&[]), Err(ProtocolError::Malformed(_))));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_message_round_trips(
            client in any::<u32>(), seq in any::<u64>(), view in any::<u64>(),
            op in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            for m in samples(client, seq, op.clone(), view) {
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
            idx in any::<usize>(), val in any::<u8>(), cut in any::<usize>(), which in 0usize..6,
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
