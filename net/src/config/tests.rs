//! Cluster files: round trips, and every file that makes no sense is a clear error.

use super::*;

pub(crate) fn sample() -> ClusterConfig {
    ClusterConfig {
        format: FORMAT.into(),
        usig: UsigKind::HmacSha1.into(),
        service: ServiceKind::Kv,
        client_count: 4,
        client_auth: ClientAuth::MacAuthenticator,
        client_key_seed: 7,
        counter_block: 64,
        protocol: ProtocolParams {
            batch_size_max: Some(8),
            batch_timeout: Some("200us".into()),
            ..Default::default()
        },
        replica: (0..3)
            .map(|id| ReplicaEntry {
                id,
                addr: format!("127.0.0.1:{}", 7100 + id).parse().unwrap(),
                keys: format!("keys/replica-{id}.toml").into(),
                tcti: None,
                usig_public_key: None,
                usig_tpm_identity: None,
            })
            .collect(),
        dir: PathBuf::new(),
    }
}

#[test]
fn round_trips_and_resolves_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.toml");
    let c = sample();
    c.save(&path).unwrap();
    let back = ClusterConfig::load(&path).unwrap();
    assert_eq!(back.dir, dir.path());
    assert_eq!(
        ClusterConfig {
            dir: PathBuf::new(),
            ..back.clone()
        },
        c
    );
    let p = back.protocol_config().unwrap();
    assert_eq!(
        (p.batch_size_max, p.batch_timeout),
        (8, Duration::from_micros(200))
    );
    // The adaptive waits' ceilings: defaults, or what the file says (equal to the floor
    // for a fixed wait).
    assert_eq!(p.repair_interval_max, Duration::from_millis(500));
    let mut fixed = sample();
    fixed.protocol.repair_interval_max = Some("50ms".into());
    fixed.protocol.retransmit_timeout_max = Some("100ms".into());
    let p = fixed.protocol_config().unwrap();
    assert_eq!(
        (p.repair_interval_max, p.retransmit_timeout_max),
        (p.repair_interval, p.retransmit_timeout)
    );
    assert_eq!(
        back.keys_path(2).unwrap(),
        dir.path().join("keys/replica-2.toml")
    );
}

#[test]
fn a_tpm_cluster_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.toml");
    let mut c = sample();
    c.usig = UsigBackend::Tpm;
    for r in &mut c.replica {
        r.tcti = Some(format!("swtpm:host=127.0.0.1,port={}", 2321 + 2 * r.id));
    }
    c.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("usig = \"tpm\""), "{text}");
    let back = ClusterConfig::load(&path).unwrap();
    assert_eq!(back.usig, UsigBackend::Tpm);
    assert_eq!(back.replica, c.replica);
}

/// `c`, saved and loaded again, is refused with an error that mentions `needle`.
fn check(c: &ClusterConfig, needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.toml");
    c.save(&path).unwrap();
    let e = ClusterConfig::load(&path).unwrap_err().to_string();
    assert!(e.contains(needle), "{e}");
}

#[test]
fn the_batch_rule_round_trips_into_the_protocol_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.toml");
    let mut c = sample();
    assert_eq!(c.protocol_config().unwrap().batch_rule, BatchRule::Timer);
    c.protocol.batch_rule = Some(BatchRule::Slots);
    c.protocol.outstanding_batches_max = Some(4);
    c.save(&path).unwrap();
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("batch_rule = \"slots\"")
    );
    let p = ClusterConfig::load(&path)
        .unwrap()
        .protocol_config()
        .unwrap();
    assert_eq!(
        (p.batch_rule, p.outstanding_batches_max),
        (BatchRule::Slots, 4)
    );
}

#[test]
fn bad_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.toml");
    let mut c = sample();
    c.replica.pop();
    check(&c, "2 replicas");
    let mut c = sample();
    c.replica[1].id = 5;
    check(&c, "listed by id");
    let mut c = sample();
    c.replica[2].addr = c.replica[0].addr;
    check(&c, "share the address");
    let mut c = sample();
    c.protocol.batch_timeout = Some("soon".into());
    check(&c, "protocol.batch_timeout");
    let mut c = sample();
    c.protocol.repair_interval_max = Some("-1ms".into());
    check(&c, "protocol.repair_interval_max");
    let mut c = sample();
    c.protocol.retransmit_timeout_max = Some("often".into());
    check(&c, "protocol.retransmit_timeout_max");
    let mut c = sample();
    c.protocol.batch_rule = Some(BatchRule::Slots);
    c.protocol.outstanding_batches_max = Some(0);
    check(&c, "outstanding_batches_max");
    let mut c = sample();
    c.usig = UsigKind::Symbolic.into();
    check(&c, "simulation only");
    let mut c = sample();
    c.usig = UsigBackend::Tpm;
    check(&c, "replica 0 has no tcti");
    let mut c = sample();
    c.replica[1].tcti = Some("device:/dev/tpmrm0".into());
    check(&c, "replica 1 has a tcti");
    std::fs::write(&path, "format = \"minlab-cluster v1\"\nusig = \"tmp\"").unwrap();
    let e = ClusterConfig::load(&path).unwrap_err().to_string();
    assert!(e.contains("hmac-sha1") && e.contains("tpm"), "{e}");
    let text = toml::to_string(&sample()).unwrap();
    let fast = text.replace("[protocol]\n", "[protocol]\nbatch_rule = \"fast\"\n");
    assert_ne!(fast, text);
    std::fs::write(&path, fast).unwrap();
    let e = ClusterConfig::load(&path).unwrap_err().to_string();
    assert!(e.contains("fast") && e.contains("slots"), "{e}");
    std::fs::write(&path, "format = 1").unwrap();
    assert!(ClusterConfig::load(&path).is_err());
    assert!(ClusterConfig::load(dir.path().join("absent.toml")).is_err());
}

pub(crate) fn minzyzyva() -> ClusterConfig {
    let keys = minlab_usig::KeySet::from_seed(3, 3);
    let mut c = sample();
    c.usig = UsigKind::Ed25519.into();
    c.protocol.name = Some(ProtocolKind::MinZyzyva);
    for r in &mut c.replica {
        r.usig_public_key = Some(crate::status::hex(keys.ed25519_public(r.id).unwrap()));
    }
    c
}

#[test]
fn minbft_is_the_default_and_minzyzyva_round_trips() {
    assert_eq!(sample().protocol_kind(), ProtocolKind::MinBft);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.toml");
    let c = minzyzyva();
    c.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("name = \"minzyzyva\""), "{text}");
    let back = ClusterConfig::load(&path).unwrap();
    assert_eq!(back.protocol_kind(), ProtocolKind::MinZyzyva);
    let keys = minlab_usig::KeySet::from_seed(3, 3);
    assert_eq!(
        back.usig_public_keys().unwrap()[2],
        *keys.ed25519_public(2).unwrap()
    );
}

// Paper §6: only MinBFT can use the USIG implemented with HMAC; MinZyzyva's clients
// verify UIs themselves.
#[test]
fn bad_minzyzyva_combinations_are_clear_errors() {
    for kind in [UsigKind::HmacSha1, UsigKind::HmacSha256] {
        let mut c = minzyzyva();
        c.usig = kind.into();
        check(
            &c,
            "protocol minzyzyva needs usig = \"ed25519\" or \"tpm\", not \"hmac",
        );
    }
    // Durable MinZyzyva replicas keep a write-ahead log and may restart.
    let mut c = minzyzyva();
    c.protocol.durable = Some(true);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.toml");
    c.save(&path).unwrap();
    assert!(ClusterConfig::load(&path).is_ok());
    let mut c = minzyzyva();
    c.replica[1].usig_public_key = None;
    check(&c, "replica 1 has no usig_public_key");
    for bad in ["abc", &"g".repeat(64), &format!("+{}", "0".repeat(63))] {
        let mut c = minzyzyva();
        c.replica[0].usig_public_key = Some(bad.to_string());
        check(&c, "not 64 hex digits");
    }
    let mut c = minzyzyva();
    c.replica.pop();
    check(&c, "MinZyzyva needs n = 2f + 1");
    let text = toml::to_string(&sample())
        .unwrap()
        .replace("[protocol]", "[protocol]\nname = \"zyzzyva\"");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.toml");
    std::fs::write(&path, text).unwrap();
    let e = ClusterConfig::load(&path).unwrap_err().to_string();
    assert!(e.contains("minbft") && e.contains("minzyzyva"), "{e}");
}

/// A MinZyzyva cluster on TPM USIGs, listing each replica's TPM identity.
pub(crate) fn minzyzyva_tpm() -> ClusterConfig {
    let mut c = sample();
    c.usig = UsigBackend::Tpm;
    c.protocol.name = Some(ProtocolKind::MinZyzyva);
    for r in &mut c.replica {
        r.tcti = Some(format!("swtpm:host=127.0.0.1,port={}", 2321 + 2 * r.id));
        let identity = identity::sample_identity(100 + u64::from(r.id));
        r.usig_tpm_identity = Some(TpmIdentityEntry::new(&identity));
    }
    c
}

#[test]
fn minzyzyva_on_tpm_usigs_round_trips_with_every_identity() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.toml");
    minzyzyva_tpm().save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("[replica.usig_tpm_identity]"), "{text}");
    let back = ClusterConfig::load(&path).unwrap();
    let identities = back.usig_tpm_identities().unwrap();
    assert_eq!(
        identities
            .iter()
            .map(|i| i.counter_base)
            .collect::<Vec<_>>(),
        [100, 101, 102]
    );
    assert_eq!(identities[1], identity::sample_identity(101));
}

// A client of a MinZyzyva cluster on TPMs verifies UIs with the identities the file lists:
// a file without them, or with damaged ones, is refused when loaded.
#[test]
fn minzyzyva_on_tpm_usigs_without_usable_identities_is_a_clear_error() {
    let mut c = minzyzyva_tpm();
    c.replica[2].usig_tpm_identity = None;
    check(&c, "replica 2 has no usig_tpm_identity");
    let mut c = minzyzyva_tpm();
    if let Some(e) = &mut c.replica[0].usig_tpm_identity {
        e.nv_name.truncate(10);
    }
    check(
        &c,
        "replica 0: usig_tpm_identity: nv_name = \"0c0c0c0c0c\" is not 68 hex digits",
    );
    let mut c = minzyzyva_tpm();
    if let Some(e) = &mut c.replica[1].usig_tpm_identity {
        e.key = format!("05{}", &e.key[2..]);
    }
    check(&c, "replica 1: usig_tpm_identity: key is not");
    // Ed25519 keys are not what a TPM cluster's clients verify with.
    let mut c = minzyzyva_tpm();
    c.replica[1].usig_public_key = Some("00".repeat(32));
    check(
        &c,
        "replica 1 has a usig_public_key, but with usig = \"tpm\"",
    );
    // And a TPM identity in a cluster without TPMs is a mistake too.
    let mut c = minzyzyva();
    c.replica[0].usig_tpm_identity = minzyzyva_tpm().replica[0].usig_tpm_identity.clone();
    check(
        &c,
        "replica 0 has a usig_tpm_identity, but usig = \"ed25519\"",
    );
    // Through a file: a table with a field too many, or one missing, is an error.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.toml");
    minzyzyva_tpm().save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for (from, to) in [
        ("counter_base = 100", "counter_base = 100\nextra = 1"),
        ("counter_base = 101\n", ""),
    ] {
        assert!(text.contains(from));
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        let e = ClusterConfig::load(&path).unwrap_err().to_string();
        assert!(e.contains("extra") || e.contains("counter_base"), "{e}");
    }
}
