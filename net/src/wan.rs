//! WAN emulation (this machine has no netem): every outgoing frame is held for a delay drawn
//! uniformly from `delay ± jitter`, never overtaking an earlier frame of the same connection
//! (TCP keeps order, so a real WAN link would too).

use rand::{RngExt, SeedableRng, TryRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// A one-way delay distribution: uniform in `[delay - jitter, delay + jitter]`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct WanDelay {
    /// Mean one-way delay.
    pub delay: Duration,
    /// Half-width of the uniform spread (at most `delay`).
    pub jitter: Duration,
}

impl WanDelay {
    /// Parses `--delay 10ms` and `--jitter 10%` (or an absolute `--jitter 2ms`).
    pub fn parse(delay: &str, jitter: Option<&str>) -> Result<Self, String> {
        let delay =
            humantime::parse_duration(delay).map_err(|e| format!("--delay {delay:?}: {e}"))?;
        let jitter = match jitter {
            None => Duration::ZERO,
            Some(j) => match j.strip_suffix('%') {
                Some(pct) => {
                    let pct: u32 = pct
                        .trim()
                        .parse()
                        .map_err(|_| format!("--jitter {j:?}: expected e.g. 10% or 2ms"))?;
                    if pct > 100 {
                        return Err(format!("--jitter {j:?}: at most 100%"));
                    }
                    delay * pct / 100
                }
                None => humantime::parse_duration(j).map_err(|e| format!("--jitter {j:?}: {e}"))?,
            },
        };
        if jitter > delay {
            return Err(format!("jitter {jitter:?} exceeds the delay {delay:?}"));
        }
        Ok(WanDelay { delay, jitter })
    }

    /// A sampler of this distribution, seeded from the OS.
    pub fn sampler(&self) -> WanSampler {
        let mut seed = [0u8; 32];
        // Falls back to a fixed seed if the OS has no entropy: jitter needs no secrecy.
        let _ = rand::rngs::SysRng.try_fill_bytes(&mut seed);
        WanSampler {
            wan: *self,
            rng: ChaCha8Rng::from_seed(seed),
        }
    }
}

/// Draws delays.
#[derive(Debug)]
pub struct WanSampler {
    wan: WanDelay,
    rng: ChaCha8Rng,
}

impl WanSampler {
    /// One delay.
    pub fn sample(&mut self) -> Duration {
        let j = self.wan.jitter.as_nanos() as u64;
        let d = self.wan.delay.as_nanos() as u64;
        if j == 0 {
            return self.wan.delay;
        }
        Duration::from_nanos(self.rng.random_range(d - j..=d + j))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_samples_within_bounds() {
        let w = WanDelay::parse("10ms", Some("10%")).unwrap();
        assert_eq!(w.jitter, Duration::from_millis(1));
        let mut s = w.sampler();
        for _ in 0..100 {
            let d = s.sample();
            assert!(
                d >= Duration::from_millis(9) && d <= Duration::from_millis(11),
                "{d:?}"
            );
        }
        assert_eq!(
            WanDelay::parse("1ms", Some("2ms")).unwrap_err(),
            "jitter 2ms exceeds the delay 1ms"
        );
        assert!(WanDelay::parse("fast", None).is_err());
        assert!(WanDelay::parse("1ms", Some("150%")).is_err());
    }
}
