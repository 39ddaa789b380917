//! Reading a script's parameters from its TOML table, with errors that name the parameter.

use super::ScriptError;
use crate::Dur;

/// A script's parameter table, with its name for errors.
pub struct Params<'a> {
    pub script: &'a str,
    pub table: &'a toml::Table,
}

impl Params<'_> {
    fn err(&self, reason: String) -> ScriptError {
        ScriptError {
            script: self.script.to_string(),
            reason,
        }
    }

    /// Fails on a parameter not in `known`.
    pub fn only(&self, known: &[&str]) -> Result<(), ScriptError> {
        for k in self.table.keys() {
            if !known.contains(&k.as_str()) {
                return Err(self.err(format!(
                    "unknown parameter {k:?}; it takes: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        }
        Ok(())
    }

    /// A duration written as a string (`"1ms"`), or `default`.
    pub fn duration(&self, key: &str, default: Dur) -> Result<Dur, ScriptError> {
        match self.table.get(key) {
            None => Ok(default),
            Some(toml::Value::String(s)) => {
                let d = Dur::parse(s).map_err(|e| self.err(format!("{key}: {e}")))?;
                if d.ns() == 0 {
                    return Err(self.err(format!("{key} must be longer than 0s")));
                }
                Ok(d)
            }
            Some(v) => Err(self.err(format!("{key} must be a duration string, not {v}"))),
        }
    }

    /// A probability in [0, 1], or `default`.
    pub fn probability(&self, key: &str, default: f64) -> Result<f64, ScriptError> {
        let p = match self.table.get(key) {
            None => return Ok(default),
            Some(toml::Value::Float(f)) => *f,
            Some(toml::Value::Integer(i)) => *i as f64,
            Some(v) => return Err(self.err(format!("{key} must be a number, not {v}"))),
        };
        if !(0.0..=1.0).contains(&p) {
            return Err(self.err(format!("{key} = {p} is not a probability in [0, 1]")));
        }
        Ok(p)
    }

    /// One of the strings `choices`, or `default`.
    pub fn choice(
        &self,
        key: &str,
        choices: &[&'static str],
        default: &'static str,
    ) -> Result<&'static str, ScriptError> {
        match self.table.get(key) {
            None => Ok(default),
            Some(toml::Value::String(s)) => {
                choices.iter().copied().find(|c| c == s).ok_or_else(|| {
                    self.err(format!(
                        "{key} = {s:?}; it takes one of: {}",
                        choices.join(", ")
                    ))
                })
            }
            Some(v) => Err(self.err(format!("{key} must be a string, not {v}"))),
        }
    }

    /// A non-negative integer, or `default`.
    pub fn natural(&self, key: &str, default: u64) -> Result<u64, ScriptError> {
        match self.table.get(key) {
            None => Ok(default),
            Some(toml::Value::Integer(i)) if *i >= 0 => Ok(*i as u64),
            Some(v) => Err(self.err(format!("{key} must be an integer >= 0, not {v}"))),
        }
    }

    /// A positive integer, or `default`.
    pub fn count(&self, key: &str, default: u64) -> Result<u64, ScriptError> {
        match self.table.get(key) {
            None => Ok(default),
            Some(toml::Value::Integer(i)) if *i > 0 => Ok(*i as u64),
            Some(v) => Err(self.err(format!("{key} must be a positive integer, not {v}"))),
        }
    }

    /// A list of replica indices below `n`, or `default`.
    pub fn replicas(&self, key: &str, n: u32, default: Vec<u32>) -> Result<Vec<u32>, ScriptError> {
        let Some(v) = self.table.get(key) else {
            return Ok(default);
        };
        let bad = || self.err(format!("{key} must be a list of replica indices below {n}"));
        let arr = v.as_array().ok_or_else(bad)?;
        arr.iter()
            .map(|x| match x.as_integer() {
                Some(i) if (0..i64::from(n)).contains(&i) => Ok(i as u32),
                _ => Err(bad()),
            })
            .collect()
    }
}
