//! Seeded random walks over the model (`Mode::Simulation`). stateright 0.31's simulation
//! checker records an action index even for actions whose next state is `None` (no-op
//! deliveries, messages to a crashed replica), after removing them from the list it
//! indexes, so rebuilding a discovery's path panics; these walks keep the actions
//! themselves instead, so every path is exact and replays.

use crate::model::MinbftModel;
use crate::report::Checkable;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stateright::{Expectation, Model};
use std::collections::{BTreeMap, HashSet};

/// An action of the MinBFT model.
pub type Action = <MinbftModel as Model>::Action;

/// What the walks found, with actions of type `A`.
pub struct Walks<A> {
    /// States visited (with repeats across walks).
    pub states: usize,
    /// Distinct states visited.
    pub unique_states: usize,
    /// The longest walk.
    pub max_depth: usize,
    /// Per property name: the actions of the first walk that discovered it.
    pub discoveries: BTreeMap<&'static str, Vec<A>>,
}

fn digest<S: std::hash::Hash>(state: &S) -> u64 {
    ahash::RandomState::with_seeds(1, 2, 3, 4).hash_one(state)
}

/// Walks from the initial state, choosing among the actions uniformly with a ChaCha
/// stream seeded by `seed`, until `states_max` states were visited or an `always`
/// property failed. A walk ends at a state without actions, a state it visited before,
/// a state outside the model's boundary or depth `depth_max`.
pub fn walk<M: Checkable>(
    model: &M,
    seed: u64,
    states_max: usize,
    depth_max: Option<usize>,
) -> Walks<M::Action> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let properties = model.properties();
    let mut w = Walks {
        states: 0,
        unique_states: 0,
        max_depth: 0,
        discoveries: BTreeMap::new(),
    };
    let mut all_seen = HashSet::new();
    let Some(init) = model.init_states().into_iter().next() else {
        return w;
    };
    'walks: while w.states < states_max {
        let mut state = init.clone();
        let mut path: Vec<M::Action> = Vec::new();
        let mut seen = HashSet::new();
        loop {
            let fp = digest(&state);
            if !model.within_boundary(&state) || !seen.insert(fp) {
                continue 'walks;
            }
            w.states += 1;
            if all_seen.insert(fp) {
                w.unique_states += 1;
            }
            w.max_depth = w.max_depth.max(path.len());
            for p in &properties {
                if w.discoveries.contains_key(p.name) {
                    continue;
                }
                let holds = (p.condition)(model, &state);
                let found = match p.expectation {
                    Expectation::Always => !holds,
                    Expectation::Sometimes => holds,
                    Expectation::Eventually => false,
                };
                if found {
                    w.discoveries.insert(p.name, path.clone());
                    if p.expectation == Expectation::Always {
                        break 'walks;
                    }
                }
            }
            if w.states >= states_max || depth_max.is_some_and(|d| path.len() >= d) {
                continue 'walks;
            }
            let mut actions = Vec::new();
            model.actions(&state, &mut actions);
            loop {
                if actions.is_empty() {
                    continue 'walks;
                }
                let a = actions.swap_remove(rng.random_range(0..actions.len()));
                if let Some(next) = model.next_state(&state, a.clone()) {
                    path.push(a);
                    state = next;
                    break;
                }
            }
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CheckConfig;
    use crate::model::minbft_model;

    #[test]
    fn walks_are_seeded_and_bounded() {
        let model = minbft_model(&CheckConfig::default()).unwrap();
        let a = walk(&model, 5, 500, None);
        let b = walk(&model, 5, 500, None);
        assert_eq!((a.states, a.unique_states), (b.states, b.unique_states));
        assert!(a.states >= 500 && a.unique_states <= a.states);
        assert_eq!(
            a.discoveries.keys().collect::<Vec<_>>(),
            b.discoveries.keys().collect::<Vec<_>>()
        );
    }
}
