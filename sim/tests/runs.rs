//! Whole runs of catalog scenarios: expectations hold, and runs are reproducible.

use minlab_scenarios::Scenario;
use minlab_sim::run::{RunOptions, run};
use std::io::Write;
use std::sync::{Arc, Mutex};

fn catalog(name: &str) -> Scenario {
    let path = format!(
        "{}/../scenarios/catalog/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    Scenario::load(path).unwrap()
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn traced(s: &Scenario, seed: u64) -> Vec<u8> {
    let buf = Shared::default();
    let report = run(
        s,
        seed,
        RunOptions {
            trace: Some(Box::new(buf.clone())),
        },
    )
    .unwrap();
    assert!(report.completed > 0);
    buf.0.lock().unwrap().to_vec()
}

#[test]
fn quickstart_holds_for_a_few_seeds() {
    let s = catalog("quickstart");
    for seed in 1..=3 {
        let r = run(&s, seed, RunOptions::default()).unwrap();
        assert!(r.passed, "seed {seed}: {:?}", r.failures);
        assert_eq!(r.completed, 800);
    }
}

#[test]
fn same_seed_gives_identical_trace_bytes() {
    let s = catalog("lossy-lan");
    let a = traced(&s, 42);
    let b = traced(&s, 42);
    assert!(a.len() > 1000);
    assert!(a == b, "traces differ");
    let c = traced(&s, 43);
    assert!(a != c, "different seeds should give different traces");
}
