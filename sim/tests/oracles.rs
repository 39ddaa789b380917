//! Oracles fed by hand: a violation the protocols under test do not produce (yet) must
//! still be caught when it happens.

use minlab_protocols::{Duration, Event, NodeId};
use minlab_scenarios::Scenario;
use minlab_sim::oracle::Property;
use minlab_sim::run::observe::Observer;
use minlab_sim::run::world::World;
use minlab_sim::seed::SubSeeds;

fn minzyzyva() -> Scenario {
    let path = format!(
        "{}/../scenarios/catalog/minzyzyva-quickstart.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    Scenario::load(path).unwrap()
}

fn rolled_back(client: u32, client_seq: u64) -> Event {
    Event::RolledBack {
        position: 0,
        client,
        client_seq,
    }
}

// Paper §5: what a client completed (2f + 1 matching RESPONSEs, or f + 1 LOCAL-COMMITs)
// is in the history of the new view; no correct replica may roll it back.
#[test]
fn a_rolled_back_completed_request_is_a_safety_violation() {
    let s = minzyzyva();
    let world = World::new(&s, &SubSeeds::new(1));
    let mut obs = Observer::new(&s, &world, None).unwrap();
    obs.on_invoke(0, 0, 1, b"op".to_vec());
    obs.on_invoke(0, 1, 1, b"op".to_vec());
    let done = Event::Completed {
        client: 0,
        seq: 1,
        result: Vec::new(),
        latency: Duration::from_millis(1),
    };
    assert_eq!(obs.on_event(10, NodeId::Client(0), done), Some(0));
    // Rolling back a request no client completed is allowed (speculation).
    obs.on_event(20, NodeId::Replica(1), rolled_back(1, 1));
    obs.on_event(30, NodeId::Replica(2), rolled_back(0, 1));
    let report = obs.finish(&s, 1, 40, 3, false, &[], &[]);
    let broken: Vec<Property> = report.violations.iter().map(|v| v.property).collect();
    assert!(
        broken.contains(&Property::CompletedNeverRolledBack),
        "{broken:?}"
    );
    let v = report
        .violations
        .iter()
        .find(|v| v.property == Property::CompletedNeverRolledBack)
        .unwrap();
    assert_eq!(v.at_ns, 30);
    assert!(v.detail.contains("client 0 request 1"), "{}", v.detail);
}
