//! The network model: for each message sent at a virtual time, whether it arrives, how many
//! times, and when. Per-link delay distributions, loss, duplication, reordering, scheduled
//! one-way and two-way partitions, and a global stabilization time (GST) after which the
//! network is synchronous and loss-free.

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A one-way delay distribution, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Delay {
    /// Always the same delay.
    Constant(u64),
    /// Uniform in `[min, max]`.
    Uniform {
        /// Smallest delay.
        min: u64,
        /// Largest delay.
        max: u64,
    },
    /// Normal with the given mean and standard deviation (the paper's netem setting is a
    /// standard deviation of 10% of the mean), cut to `[0, mean + 4 std_dev]`.
    Normal {
        /// Mean delay.
        mean: u64,
        /// Standard deviation.
        std_dev: u64,
    },
}

impl Delay {
    /// Draws one delay.
    pub fn sample(&self, rng: &mut impl Rng) -> u64 {
        match *self {
            Delay::Constant(d) => d,
            Delay::Uniform { min, max } if min >= max => min,
            Delay::Uniform { min, max } => rng.random_range(min..=max),
            Delay::Normal { mean, std_dev } => {
                // Box-Muller: two uniforms in (0, 1] give one standard normal draw.
                let u1: f64 = 1.0 - rng.random::<f64>();
                let u2: f64 = rng.random::<f64>();
                let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let d = mean as f64 + z * std_dev as f64;
                (d.max(0.0) as u64).min(self.upper_bound())
            }
        }
    }

    /// The largest delay this distribution produces: the bound on message delay after GST.
    pub fn upper_bound(&self) -> u64 {
        match *self {
            Delay::Constant(d) => d,
            Delay::Uniform { min, max } => min.max(max),
            Delay::Normal { mean, std_dev } => mean.saturating_add(std_dev.saturating_mul(4)),
        }
    }
}

/// How one directed link behaves before GST.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkModel {
    /// One-way delay.
    pub delay: Delay,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice (the copy gets its own delay).
    pub duplicate: f64,
    /// Probability that a message is held back by an extra delay of up to
    /// `reorder_window_ns`, so that later messages overtake it.
    pub reorder: f64,
    /// The largest extra delay of a reordered message.
    pub reorder_window_ns: u64,
}

impl LinkModel {
    /// A reliable link with the given delay.
    pub fn new(delay: Delay) -> Self {
        LinkModel {
            delay,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_window_ns: 0,
        }
    }
}

/// Which messages a partition blocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cut<K: Ord> {
    /// Nothing crosses between `a` and `b`, in either direction. `b = None` means every node
    /// not in `a`.
    TwoWay {
        /// One side.
        a: BTreeSet<K>,
        /// The other side (all others when `None`).
        b: Option<BTreeSet<K>>,
    },
    /// Messages from `from` to `to` are lost; the other direction works.
    OneWay {
        /// Senders whose messages are cut.
        from: BTreeSet<K>,
        /// Receivers that do not get them.
        to: BTreeSet<K>,
    },
}

/// A partition active in the virtual time interval `[start_ns, end_ns)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition<K: Ord> {
    /// When it starts.
    pub start_ns: u64,
    /// When it heals.
    pub end_ns: u64,
    /// What it cuts.
    pub cut: Cut<K>,
}

impl<K: Ord> Partition<K> {
    fn blocks(&self, now: u64, from: &K, to: &K) -> bool {
        if now < self.start_ns || now >= self.end_ns {
            return false;
        }
        match &self.cut {
            Cut::TwoWay { a, b } => {
                let in_b = |k: &K| b.as_ref().map_or(!a.contains(k), |b| b.contains(k));
                (a.contains(from) && in_b(to)) || (a.contains(to) && in_b(from))
            }
            Cut::OneWay { from: f, to: t } => f.contains(from) && t.contains(to),
        }
    }
}

/// The whole network: a default link, per-link overrides, partitions and GST.
#[derive(Clone, Debug, PartialEq)]
pub struct Network<K: Ord> {
    /// The model of every link without an override.
    pub default_link: LinkModel,
    /// Per directed link `(from, to)` models.
    pub links: BTreeMap<(K, K), LinkModel>,
    /// Scheduled partitions.
    pub partitions: Vec<Partition<K>>,
    /// Global stabilization time: from then on no loss, no duplication, no reordering, no
    /// partition, and every delay is at most its distribution's upper bound.
    pub gst_ns: Option<u64>,
}

/// At most two deliveries of one message (the original and a duplicate).
pub type Deliveries = std::iter::Flatten<std::array::IntoIter<Option<u64>, 2>>;

impl<K: Ord + Copy> Network<K> {
    /// A network where every link behaves as `default_link`, forever (no GST).
    pub fn new(default_link: LinkModel) -> Self {
        Network {
            default_link,
            links: BTreeMap::new(),
            partitions: Vec::new(),
            gst_ns: None,
        }
    }

    /// The model of the link `from -> to`.
    pub fn link(&self, from: K, to: K) -> &LinkModel {
        self.links.get(&(from, to)).unwrap_or(&self.default_link)
    }

    /// True once the network is synchronous.
    pub fn after_gst(&self, now: u64) -> bool {
        self.gst_ns.is_some_and(|g| now >= g)
    }

    /// The arrival times of a message sent at `now` from `from` to `to`: none (lost or
    /// partitioned), one, or two (duplicated). Draws from `rng` in a fixed order.
    pub fn transmit(&self, rng: &mut impl Rng, now: u64, from: K, to: K) -> Deliveries {
        let link = self.link(from, to);
        let stable = self.after_gst(now);
        let mut out = [None, None];
        if !stable {
            if self.partitions.iter().any(|p| p.blocks(now, &from, &to)) {
                return out.into_iter().flatten();
            }
            if link.loss > 0.0 && rng.random_bool(link.loss.min(1.0)) {
                return out.into_iter().flatten();
            }
        }
        out[0] = Some(now.saturating_add(self.one_delay(rng, link, stable)));
        if !stable && link.duplicate > 0.0 && rng.random_bool(link.duplicate.min(1.0)) {
            out[1] = Some(now.saturating_add(self.one_delay(rng, link, stable)));
        }
        out.into_iter().flatten()
    }

    fn one_delay(&self, rng: &mut impl Rng, link: &LinkModel, stable: bool) -> u64 {
        let mut d = link.delay.sample(rng);
        if !stable
            && link.reorder > 0.0
            && link.reorder_window_ns > 0
            && rng.random_bool(link.reorder.min(1.0))
        {
            d = d.saturating_add(rng.random_range(0..=link.reorder_window_ns));
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::SubSeeds;

    fn set(v: &[u32]) -> BTreeSet<u32> {
        v.iter().copied().collect()
    }

    #[test]
    fn normal_delay_has_roughly_the_requested_moments() {
        let mut rng = SubSeeds::new(3).rng("t");
        let d = Delay::Normal {
            mean: 10_000_000,
            std_dev: 1_000_000,
        };
        let xs: Vec<f64> = (0..20_000).map(|_| d.sample(&mut rng) as f64).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!((mean - 1e7).abs() < 5e4, "mean {mean}");
        assert!((var.sqrt() - 1e6).abs() < 5e4, "std dev {}", var.sqrt());
        assert!(xs.iter().all(|&x| x <= d.upper_bound() as f64));
    }

    #[test]
    fn loss_and_duplication_rates_are_respected() {
        let mut link = LinkModel::new(Delay::Constant(5));
        link.loss = 0.25;
        link.duplicate = 0.5;
        let net: Network<u32> = Network::new(link);
        let mut rng = SubSeeds::new(9).rng("t");
        let mut counts = [0u32; 3];
        for _ in 0..10_000 {
            counts[net.transmit(&mut rng, 0, 0, 1).count()] += 1;
        }
        // Expect 25% lost, 37.5% once, 37.5% twice.
        assert!((2_300..2_700).contains(&counts[0]), "{counts:?}");
        assert!((3_500..4_000).contains(&counts[1]), "{counts:?}");
        assert!((3_500..4_000).contains(&counts[2]), "{counts:?}");
    }

    #[test]
    fn partitions_cut_during_their_interval_only() {
        let mut net: Network<u32> = Network::new(LinkModel::new(Delay::Constant(1)));
        net.partitions.push(Partition {
            start_ns: 10,
            end_ns: 20,
            cut: Cut::TwoWay {
                a: set(&[0]),
                b: None,
            },
        });
        net.partitions.push(Partition {
            start_ns: 0,
            end_ns: 100,
            cut: Cut::OneWay {
                from: set(&[1]),
                to: set(&[2]),
            },
        });
        let mut rng = SubSeeds::new(1).rng("t");
        assert_eq!(net.transmit(&mut rng, 5, 0, 1).count(), 1);
        assert_eq!(net.transmit(&mut rng, 10, 0, 1).count(), 0);
        assert_eq!(net.transmit(&mut rng, 15, 2, 0).count(), 0);
        assert_eq!(net.transmit(&mut rng, 20, 0, 1).count(), 1);
        assert_eq!(net.transmit(&mut rng, 50, 1, 2).count(), 0);
        assert_eq!(net.transmit(&mut rng, 50, 2, 1).count(), 1);
    }

    #[test]
    fn after_gst_the_network_is_synchronous_and_reliable() {
        let mut link = LinkModel::new(Delay::Uniform { min: 1, max: 50 });
        link.loss = 1.0;
        link.reorder = 1.0;
        link.reorder_window_ns = 1_000;
        let mut net: Network<u32> = Network::new(link);
        net.partitions.push(Partition {
            start_ns: 0,
            end_ns: u64::MAX,
            cut: Cut::TwoWay {
                a: set(&[0]),
                b: None,
            },
        });
        net.gst_ns = Some(100);
        let mut rng = SubSeeds::new(2).rng("t");
        assert_eq!(net.transmit(&mut rng, 99, 0, 1).count(), 0);
        for now in 100..1_100 {
            let ts: Vec<u64> = net.transmit(&mut rng, now, 0, 1).collect();
            assert_eq!(ts.len(), 1);
            assert!(ts[0] > now && ts[0] <= now + 50);
        }
    }
}
