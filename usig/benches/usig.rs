//! Criterion benchmarks of the USIG hot path (paper Table 3's setting: a 20-byte message,
//! the size of a request digest), per backend, and of the durable counter's overhead.

use criterion::{Criterion, criterion_group, criterion_main};
use ed25519_dalek::{Signer, SigningKey, Verifier};
use minlab_usig::{AnyUsig, DurableCounter, KeySet, Usig, UsigKind};
use std::hint::black_box;

const MESSAGE: [u8; 20] = [0x42; 20];

fn create_ui(c: &mut Criterion) {
    let keys = KeySet::from_seed(3, 1);
    let mut group = c.benchmark_group("create_ui");
    for kind in UsigKind::ALL {
        let mut usig = AnyUsig::new(kind, 0, &keys).unwrap();
        group.bench_function(kind.name(), |b| {
            b.iter(|| usig.create_ui(black_box(&MESSAGE)).unwrap())
        });
    }
    let dir = tempfile::tempdir().unwrap();
    let counter = DurableCounter::open(
        dir.path().join("bench.counter"),
        DurableCounter::DEFAULT_BLOCK,
    )
    .unwrap();
    let mut usig = AnyUsig::with_counter(UsigKind::HmacSha1, 0, &keys, counter).unwrap();
    group.bench_function("hmac-sha1+durable", |b| {
        b.iter(|| usig.create_ui(black_box(&MESSAGE)).unwrap())
    });
    // Reference: ed25519-dalek signing the same 28 bytes (counter || message) directly,
    // to show what the USIG wrapper adds.
    let signing = SigningKey::from_bytes(keys.ed25519_secret(0).unwrap());
    let signed = [0x42; 28];
    group.bench_function("ed25519-dalek-sign", |b| {
        b.iter(|| signing.sign(black_box(&signed)))
    });
    group.finish();
}

fn verify_ui(c: &mut Criterion) {
    let keys = KeySet::from_seed(3, 1);
    let mut group = c.benchmark_group("verify_ui");
    for kind in UsigKind::ALL {
        let mut signer = AnyUsig::new(kind, 0, &keys).unwrap();
        let verifier = AnyUsig::new(kind, 1, &keys).unwrap();
        let ui = signer.create_ui(&MESSAGE).unwrap();
        group.bench_function(kind.name(), |b| {
            b.iter(|| {
                verifier
                    .verify_ui(0, black_box(&ui), black_box(&MESSAGE))
                    .unwrap()
            })
        });
    }
    let signing = SigningKey::from_bytes(keys.ed25519_secret(0).unwrap());
    let signed = [0x42; 28];
    let signature = signing.sign(&signed);
    let verifying = signing.verifying_key();
    group.bench_function("ed25519-dalek-verify", |b| {
        b.iter(|| {
            verifying
                .verify(black_box(&signed), black_box(&signature))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, create_ui, verify_ui);
criterion_main!(benches);
