//! Reads what `minlab run --json` and `minlab sweep --json` print, keeping only what the
//! charts need, with clear errors for files that are neither.

use crate::ReportError;
use serde::Deserialize;
use std::path::Path;

/// The part of a `minlab run --json` report the charts use.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RunData {
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Requests completed.
    #[serde(default)]
    pub completed: u64,
    /// Completed requests per second of virtual time.
    #[serde(default)]
    pub throughput_per_s: f64,
    /// Virtual time covered, ns.
    #[serde(default)]
    pub sim_time_ns: u64,
    /// View changes: (virtual time ns, replica, new view).
    #[serde(default)]
    pub view_changes: Vec<(u64, u32, u64)>,
    /// Completions per 100 ms.
    #[serde(default)]
    pub throughput_timeline: Vec<u64>,
    /// `(latency ns, fraction at or below)`.
    #[serde(default)]
    pub latency_cdf: Vec<(u64, f64)>,
}

/// One run of a `minlab sweep --json` output.
#[derive(Clone, Debug, Deserialize)]
pub struct SeedRow {
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Whether every expectation held.
    pub passed: bool,
    /// Requests completed.
    pub completed: u64,
    /// Virtual time covered (ns).
    pub sim_time_ns: u64,
}

/// The part of a `minlab sweep --json` output the charts use.
#[derive(Clone, Debug, Deserialize)]
pub struct SweepData {
    /// One entry per run.
    pub results: Vec<SeedRow>,
}

/// A chart input file.
#[derive(Clone, Debug)]
pub enum InputData {
    /// One run.
    Run(Box<RunData>),
    /// Many seeds.
    Sweep(SweepData),
}

impl InputData {
    /// Parses a JSON document printed by `minlab run --json` or `minlab sweep --json`.
    pub fn parse(text: &str, path: &Path) -> Result<InputData, ReportError> {
        let bad = |message: String| ReportError::Input {
            path: path.to_path_buf(),
            message,
        };
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| bad(format!("not JSON ({e}); expected the output of `minlab run --json` or `minlab sweep --json`")))?;
        if v.get("results").is_some() {
            serde_json::from_value(v)
                .map(InputData::Sweep)
                .map_err(|e| bad(format!("not a `minlab sweep --json` output: {e}")))
        } else if v.get("scenario").is_some() && v.get("seed").is_some() {
            serde_json::from_value(v)
                .map(|r| InputData::Run(Box::new(r)))
                .map_err(|e| bad(format!("not a `minlab run --json` output: {e}")))
        } else {
            Err(bad(
                "neither a `minlab run --json` report (no \"scenario\"/\"seed\") nor a `minlab sweep --json` output (no \"results\")".into(),
            ))
        }
    }

    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<InputData, ReportError> {
        let text = std::fs::read_to_string(path).map_err(|e| ReportError::Input {
            path: path.to_path_buf(),
            message: format!("cannot read: {e}"),
        })?;
        InputData::parse(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_runs_sweeps_and_garbage_apart() {
        let p = Path::new("x.json");
        let run = r#"{"scenario":"q","seed":3,"latency_cdf":[[1000,0.0],[2000,1.0]]}"#;
        assert!(
            matches!(InputData::parse(run, p), Ok(InputData::Run(r)) if r.latency_cdf.len() == 2)
        );
        let sweep = r#"{"results":[{"scenario":"q","seed":1,"passed":true,"completed":5,"sim_time_ns":9}]}"#;
        assert!(
            matches!(InputData::parse(sweep, p), Ok(InputData::Sweep(s)) if s.results.len() == 1)
        );
        for bad in [
            "",
            "{",
            "[1,2]",
            r#"{"results":7}"#,
            r#"{"scenario":1,"seed":"x"}"#,
        ] {
            let e = InputData::parse(bad, p).unwrap_err().to_string();
            assert!(e.starts_with("x.json: "), "{e}");
        }
    }
}
