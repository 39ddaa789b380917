//! Client authentication: how a replica knows a request really comes from its client
//! (paper §4, condition 2), and how a client knows a reply comes from a given replica.
//!
//! Three modes, chosen per deployment with [`ClientAuth`]:
//!
//! - [`ClientAuth::None`]: requests and replies carry no authenticator. Nothing stops a
//!   faulty primary (or anyone on the network) from forging requests for any client, or a
//!   network attacker from forging replies. Only for benchmarks and model checking, where
//!   the adversary is scripted and never forges.
//! - [`ClientAuth::Ed25519`]: the client signs each request (the paper's `σ_c`). Every
//!   replica, and any third party, can check the signature, so a faulty primary cannot
//!   forge or alter requests inside a PREPARE, and all correct backups agree on whether
//!   condition 2 holds. Replies carry a MAC under the key the client shares with the replica.
//! - [`ClientAuth::MacAuthenticator`]: as in PBFT, a request carries one HMAC-SHA256 tag
//!   (truncated to 128 bits) per replica, each under a key that client shares with that
//!   replica. Much cheaper than signatures, but each replica can check only its own tag: a
//!   faulty client can make correct backups disagree on condition 2 (some accept its
//!   request in a PREPARE, others do not). Safety is unaffected (those that reject simply
//!   stop following the primary's counter, and the view change resolves it), but liveness
//!   then relies on the view change. Replies carry a MAC as with Ed25519.
//!
//! Keys are derived from a seed with SHA-256 for simulation and tests.

use super::messages::{Ed25519Signature, MacTag, Request, RequestAuth};
use crate::metrics::Metrics;
use crate::node::{ClientId, ReplicaId};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// How clients authenticate requests; see the module docs for what each mode protects.
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ClientAuth {
    /// No authentication.
    #[default]
    None,
    /// Ed25519 signatures on requests.
    Ed25519,
    /// PBFT-style MAC authenticators (one HMAC-SHA256 tag per replica).
    MacAuthenticator,
}

fn derive(label: &[u8], seed: u64, a: u32, b: u32) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(label);
    h.update(seed.to_be_bytes());
    h.update(a.to_be_bytes());
    h.update(b.to_be_bytes());
    h.finalize().into()
}

fn ed25519_secret(seed: u64, client: ClientId) -> [u8; 32] {
    derive(b"minlab client ed25519", seed, client, 0)
}

fn mac_key(seed: u64, client: ClientId, replica: ReplicaId) -> [u8; 32] {
    derive(b"minlab client mac", seed, client, replica)
}

/// What replica `replica` knows about every client: public keys and shared MAC keys.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ClientDirectory {
    mode: ClientAuth,
    replica: ReplicaId,
    client_count: u32,
    ed25519_public: Vec<VerifyingKey>,
    mac_keys: Vec<[u8; 32]>,
}

impl ClientDirectory {
    /// The directory replica `replica` holds for `client_count` clients, keys from `seed`.
    pub fn from_seed(mode: ClientAuth, replica: ReplicaId, client_count: u32, seed: u64) -> Self {
        let ed25519_public = match mode {
            ClientAuth::Ed25519 => (0..client_count)
                .map(|c| SigningKey::from_bytes(&ed25519_secret(seed, c)).verifying_key())
                .collect(),
            _ => Vec::new(),
        };
        let mac_keys = match mode {
            ClientAuth::None => Vec::new(),
            _ => (0..client_count)
                .map(|c| mac_key(seed, c, replica))
                .collect(),
        };
        ClientDirectory {
            mode,
            replica,
            client_count,
            ed25519_public,
            mac_keys,
        }
    }

    /// The authentication mode.
    pub fn mode(&self) -> ClientAuth {
        self.mode
    }

    /// Number of known clients.
    pub fn client_count(&self) -> u32 {
        self.client_count
    }

    /// True when `client` is known.
    pub fn knows(&self, client: ClientId) -> bool {
        client < self.client_count
    }

    /// Checks the request's authenticator for this replica (paper §4, condition 2), and
    /// counts the MAC or signature check in `metrics`.
    #[inline]
    pub fn verify_request_counted(&self, req: &Request, metrics: &mut Metrics) -> bool {
        match self.mode {
            ClientAuth::None => {}
            ClientAuth::Ed25519 => metrics.signature_ops += 1,
            ClientAuth::MacAuthenticator => metrics.mac_ops += 1,
        }
        self.verify_request(req)
    }

    /// Checks the request's authenticator for this replica (paper §4, condition 2).
    #[inline]
    pub fn verify_request(&self, req: &Request) -> bool {
        if !self.knows(req.client) {
            return false;
        }
        match (self.mode, &req.auth) {
            (ClientAuth::None, RequestAuth::None) => true,
            (ClientAuth::Ed25519, RequestAuth::Ed25519(sig)) => {
                let key = &self.ed25519_public[req.client as usize];
                key.verify(
                    &request_bytes(req.client, req.seq, &req.op),
                    &Signature::from_bytes(&sig.0),
                )
                .is_ok()
            }
            (ClientAuth::MacAuthenticator, RequestAuth::Macs(tags)) => {
                match tags.get(self.replica as usize) {
                    Some(tag) => {
                        let key = &self.mac_keys[req.client as usize];
                        request_mac(key, req.client, req.seq, &req.op) == *tag
                    }
                    None => false,
                }
            }
            _ => false,
        }
    }

    /// The MAC this replica puts on a reply, `None` when authentication is off.
    pub fn reply_auth(&self, client: ClientId, seq: u64, result: &[u8]) -> Option<MacTag> {
        match self.mode {
            ClientAuth::None => None,
            _ => self
                .mac_keys
                .get(client as usize)
                .map(|k| reply_mac(k, self.replica, client, seq, result)),
        }
    }
}

/// What client `client` knows: its signing key and the MAC keys it shares with replicas.
#[derive(Clone, Debug)]
pub struct ClientKeyring {
    mode: ClientAuth,
    client: ClientId,
    signing: Option<SigningKey>,
    mac_keys: Vec<[u8; 32]>,
}

impl PartialEq for ClientKeyring {
    fn eq(&self, o: &Self) -> bool {
        self.mode == o.mode
            && self.client == o.client
            && self.mac_keys == o.mac_keys
            && self.signing.as_ref().map(|s| s.to_bytes())
                == o.signing.as_ref().map(|s| s.to_bytes())
    }
}
impl Eq for ClientKeyring {}
impl std::hash::Hash for ClientKeyring {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.mode.hash(state);
        self.client.hash(state);
        self.mac_keys.hash(state);
    }
}

impl ClientKeyring {
    /// Client `client`'s keys in a group of `replica_count` replicas, from `seed`.
    pub fn from_seed(mode: ClientAuth, client: ClientId, replica_count: u32, seed: u64) -> Self {
        ClientKeyring {
            mode,
            client,
            signing: (mode == ClientAuth::Ed25519)
                .then(|| SigningKey::from_bytes(&ed25519_secret(seed, client))),
            mac_keys: match mode {
                ClientAuth::None => Vec::new(),
                _ => (0..replica_count)
                    .map(|r| mac_key(seed, client, r))
                    .collect(),
            },
        }
    }

    /// The authentication mode.
    pub fn mode(&self) -> ClientAuth {
        self.mode
    }

    /// Computes the authenticator of `req` (whose `auth` field is ignored).
    pub fn authenticate(&self, req: &Request) -> RequestAuth {
        self.authenticate_parts(req.client, req.seq, &req.op)
    }

    /// Computes the authenticator of the request `(client, seq, op)` before it is built,
    /// so the request can be constructed in place.
    #[inline]
    pub fn authenticate_parts(&self, client: ClientId, seq: u64, op: &[u8]) -> RequestAuth {
        match self.mode {
            ClientAuth::None => RequestAuth::None,
            ClientAuth::Ed25519 => match &self.signing {
                Some(k) => RequestAuth::Ed25519(Box::new(Ed25519Signature(
                    k.sign(&request_bytes(client, seq, op)).to_bytes(),
                ))),
                None => RequestAuth::None,
            },
            ClientAuth::MacAuthenticator => RequestAuth::Macs(
                self.mac_keys
                    .iter()
                    .map(|k| request_mac(k, client, seq, op))
                    .collect(),
            ),
        }
    }

    /// Checks a reply's MAC from `replica`.
    pub fn verify_reply(&self, reply: &super::messages::Reply) -> bool {
        match self.mode {
            ClientAuth::None => true,
            _ => match (self.mac_keys.get(reply.replica as usize), reply.auth) {
                (Some(k), Some(tag)) => {
                    reply_mac(k, reply.replica, reply.client, reply.seq, &reply.result) == tag
                }
                _ => false,
            },
        }
    }
}

/// The bytes a client signs: `"REQ" ‖ client ‖ seq ‖ op`.
fn request_bytes(client: ClientId, seq: u64, op: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(15 + op.len());
    b.extend_from_slice(b"REQ");
    b.extend_from_slice(&client.to_be_bytes());
    b.extend_from_slice(&seq.to_be_bytes());
    b.extend_from_slice(op);
    b
}

fn truncate(mac: HmacSha256) -> MacTag {
    let full: [u8; 32] = mac.finalize().into_bytes().into();
    let mut t = [0u8; 16];
    t.copy_from_slice(&full[..16]);
    t
}

fn request_mac(key: &[u8; 32], client: ClientId, seq: u64, op: &[u8]) -> MacTag {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    m.update(b"REQ");
    m.update(&client.to_be_bytes());
    m.update(&seq.to_be_bytes());
    m.update(op);
    truncate(m)
}

fn reply_mac(
    key: &[u8; 32],
    replica: ReplicaId,
    client: ClientId,
    seq: u64,
    result: &[u8],
) -> MacTag {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    m.update(b"REP");
    m.update(&replica.to_be_bytes());
    m.update(&client.to_be_bytes());
    m.update(&seq.to_be_bytes());
    m.update(result);
    truncate(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(client: ClientId, keys: &ClientKeyring) -> Request {
        let mut r = Request {
            client,
            seq: 3,
            op: b"put".to_vec(),
            auth: RequestAuth::None,
        };
        r.auth = keys.authenticate(&r);
        r
    }

    #[test]
    fn each_mode_accepts_its_own_and_rejects_tampering() {
        for mode in [
            ClientAuth::None,
            ClientAuth::Ed25519,
            ClientAuth::MacAuthenticator,
        ] {
            let keys = ClientKeyring::from_seed(mode, 1, 3, 9);
            let dir = ClientDirectory::from_seed(mode, 2, 4, 9);
            let r = request(1, &keys);
            assert!(dir.verify_request(&r), "{mode:?}");
            let mut tampered = r.clone();
            tampered.op = b"get".to_vec();
            assert_eq!(dir.verify_request(&tampered), mode == ClientAuth::None);
            // Another client's keys do not work.
            let other = ClientKeyring::from_seed(mode, 2, 3, 9);
            let mut forged = r.clone();
            forged.auth = other.authenticate(&r);
            assert_eq!(dir.verify_request(&forged), mode == ClientAuth::None);
            // Unknown clients never pass.
            let mut unknown = r.clone();
            unknown.client = 99;
            assert!(!dir.verify_request(&unknown));
        }
    }

    #[test]
    fn reply_macs_bind_the_replica() {
        let mode = ClientAuth::MacAuthenticator;
        let keys = ClientKeyring::from_seed(mode, 0, 3, 1);
        let dir1 = ClientDirectory::from_seed(mode, 1, 2, 1);
        let mut reply = super::super::messages::Reply {
            replica: 1,
            client: 0,
            seq: 1,
            result: b"ok".to_vec(),
            auth: None,
        };
        reply.auth = dir1.reply_auth(0, 1, b"ok");
        assert!(keys.verify_reply(&reply));
        reply.replica = 2;
        assert!(!keys.verify_reply(&reply));
    }
}
