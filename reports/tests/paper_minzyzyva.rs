//! MinZyzyva's rows of the paper's evaluation, asserted on small simulated runs under seeds
//! 1..=3: Table 1's `2 + sign/b` at the primary (batches of `b`), and batching's effect on
//! throughput with an expensive signature (the paper's RSA cost), where one `UI_p` per
//! ORDER-REQ and one `UI_s` per batch let the batch rate, not the request rate, pay for
//! signatures.

use minlab_reports::paper::sections::{table1_points, throughput};
use minlab_reports::paper::setup::Backend;
use minlab_reports::paper::{JobKey, Plan, ProtocolKind, published, run_jobs};
use minlab_scenarios::BatchRule;

const MINZYZYVA: ProtocolKind = ProtocolKind::MinZyzyva;
const TIMER: BatchRule = BatchRule::Timer;
const MINBFT: ProtocolKind = ProtocolKind::MinBft;

fn plan() -> Plan {
    Plan {
        seeds: 3,
        delays_ms: vec![1],
        fig5_f: vec![1],
        latency_requests: 4,
        clients: vec![1, 20],
        throughput_ms: 100,
        throughput_backends: vec![Backend::PaperRsa],
        throughput_rules: vec![TIMER],
        latency_backends: vec![Backend::HmacSha1],
        tpm_batches: vec![1],
        tpm_duration_s: 5,
        table1_b: vec![1, 10],
        table1_f: vec![1, 2],
        table1_requests: 40,
    }
}

#[test]
fn minzyzyva_batches_do_the_papers_table1_work_and_amortize_signatures() {
    let plan = plan();
    let jobs: Vec<_> = plan
        .jobs()
        .into_iter()
        .filter(|j| match j.key {
            JobKey::Table1 { protocol, .. } => protocol == MINZYZYVA,
            JobKey::Throughput { protocol, .. } => protocol == MINZYZYVA || protocol == MINBFT,
            _ => false,
        })
        .collect();
    let r = run_jobs(jobs, plan.seeds, &|_| {}).unwrap();
    assert!(r.failures().is_empty(), "{:?}", r.failures());

    // Table 1, counted in the run under every seed: the primary checks each request's
    // authenticator and MACs its RESPONSE, and creates one UI_p per batch of b.
    for f in [1u32, 2] {
        for b in [1u32, 10] {
            let points = table1_points(&r, MINZYZYVA, f, b).unwrap();
            assert_eq!(points.len(), 3);
            for (seed, (primary, backup)) in (1..).zip(points) {
                assert_eq!(primary.batch_mean, f64::from(b), "f {f} b {b} seed {seed}");
                let measured = primary.crypto_ops();
                let paper = published::table1_minzyzyva_ops(b);
                assert!(
                    (measured - paper).abs() < 1e-9,
                    "f {f} b {b} seed {seed}: measured {measured}, paper {paper}"
                );
                assert!((primary.creates - 1.0 / f64::from(b)).abs() < 1e-9);
                // A backup: one authenticator check per request; per batch verify UI_p and
                // create one UI_s.
                let bf = f64::from(b);
                assert!(
                    (backup.crypto_ops() - (1.0 + 2.0 / bf)).abs() < 1e-9,
                    "f {f} b {b} seed {seed}: backup {}",
                    backup.crypto_ops()
                );
            }
        }
    }

    // With RSA's 10.7 ms create_ui, one client gets about one request per signature
    // chain; twenty clients fill batches, so throughput grows far beyond the signature
    // rate, and MinZyzyva (one create_ui per batch at the primary, no COMMIT round) is at
    // least as fast as MinBFT under every seed.
    let rsa = Some(Backend::PaperRsa);
    let one = throughput(&r, TIMER, MINZYZYVA, rsa, 1).unwrap();
    let twenty = throughput(&r, TIMER, MINZYZYVA, rsa, 20).unwrap();
    assert!(one.all_below(&twenty), "{one:?} vs {twenty:?}");
    assert!(
        twenty.mean() > 5.0 * one.mean(),
        "{one:?} vs {twenty:?}: batching amortizes the signature"
    );
    let minbft = throughput(&r, TIMER, MINBFT, rsa, 20).unwrap();
    assert!(
        twenty.mean() >= minbft.mean(),
        "MinZyzyva {twenty:?} vs MinBFT {minbft:?}"
    );
}
