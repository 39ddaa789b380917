//! `minlab bench usig`: wall-clock cost of `create_ui` and `verify_ui` per USIG backend on
//! a 20-byte message (the setting of the paper's Table 3), printed next to the paper's
//! figures, plus HMAC-SHA1 over a durable counter to show what persistence adds.

mod subject;
mod timing;
mod tpm;

use crate::Outcome;
use anyhow::Result;
use minlab_usig::{DurableCounter, KeySet, UsigKind};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use subject::Subject;
use timing::{Series, WARMUP, median};

/// The paper's Table 3 (Java 6, NS versions of the USIG, 2011 hardware), in ms.
const PAPER_TABLE_3: [(&str, f64, f64); 3] = [
    ("Hmac (SHA1)", 0.008, 0.007),
    ("ESIGN (2048 bits)", 1.035, 0.548),
    ("RSA (1024 bits)", 10.683, 0.580),
];

const EXAMPLES: &str = "\
Examples:
  minlab bench usig                                  every backend, readable table
  minlab bench usig --json                           one JSON object, e.g. for reports
  minlab bench usig --backend hmac-sha1 hmac-sha1+durable --durable-dir /var/lib/minlab
  minlab bench usig --backend tpm --tpm device:/dev/tpmrm0     a real TPM (provisions it)

Backends: hmac-sha1, hmac-sha256, ed25519, symbolic, hmac-sha1+durable (HMAC-SHA1 over a
file-backed counter that reserves --durable-block values per fsync'd write), tpm (the TPM
2.0 USIG; needs a build with --features tpm, and swtpm installed or --tpm TCTI; left out
with the reason when neither works, unless asked for by --backend tpm or --tpm).
Build with --release: debug builds are 10-50x slower.";

/// Arguments of `minlab bench usig`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Print one JSON object `{"<backend>": {"create_ns": N, "verify_ns": N, ...}, ...}`
    /// (medians; `*_mean` fields hold means) instead of the table.
    #[arg(long)]
    json: bool,
    /// Calls per timed batch [default: calibrated so that a batch takes about 5 ms].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    iterations: Option<u64>,
    /// Rounds of timed batches: each round runs one batch of every measured operation in
    /// turn, and the median over rounds is reported.
    #[arg(long, value_name = "N", default_value_t = 31,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    batches: u32,
    /// Backends to measure [default: all].
    #[arg(long = "backend", value_name = "NAME", num_args = 1.., value_parser = parse_row)]
    backends: Vec<Row>,
    /// Values the durable counter reserves per file write.
    #[arg(long, value_name = "N", default_value_t = DurableCounter::DEFAULT_BLOCK,
          value_parser = clap::value_parser!(u64).range(1..))]
    durable_block: u64,
    /// Where to put the durable counter's file (in a fresh subdirectory, removed after)
    /// [default: the system's temporary directory]. fsync costs differ widely between
    /// tmpfs, local SSDs and network disks: use the disk a deployment would use.
    #[arg(long, value_name = "DIR")]
    durable_dir: Option<PathBuf>,
    /// Measure the TPM row on this TPM (e.g. `device:/dev/tpmrm0`) instead of a private
    /// swtpm. It is provisioned like `minlab tpm provision` does (the USIG's key and
    /// counter are created, or reused when present) and each create_ui advances its NV
    /// counter: real chips rate-limit and wear NV writes.
    #[arg(long, value_name = "TCTI")]
    tpm: Option<String>,
}

/// One row of the table: a backend over a volatile counter, or HMAC-SHA1 over a durable one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Row {
    Volatile(UsigKind),
    HmacSha1Durable,
    Tpm,
}

const DURABLE_NAME: &str = "hmac-sha1+durable";

impl Row {
    fn all() -> Vec<Row> {
        UsigKind::ALL
            .into_iter()
            .map(Row::Volatile)
            .chain([Row::HmacSha1Durable, Row::Tpm])
            .collect()
    }

    fn name(self) -> &'static str {
        match self {
            Row::Volatile(kind) => kind.name(),
            Row::HmacSha1Durable => DURABLE_NAME,
            Row::Tpm => "tpm",
        }
    }
}

fn parse_row(s: &str) -> Result<Row, String> {
    Row::all()
        .into_iter()
        .find(|r| r.name() == s)
        .ok_or_else(|| {
            let names: Vec<&str> = Row::all().into_iter().map(Row::name).collect();
            format!(
                "unknown backend {s:?}; expected one of: {}",
                names.join(", ")
            )
        })
}

/// What was measured for one row.
struct Measured {
    row: Row,
    create: Series,
    verify: Series,
    /// For the durable row: reservation writes during the run, and the block size.
    durable: Option<(u64, u64)>,
}

/// Runs `minlab bench usig`.
pub fn run(args: &Args) -> Result<Outcome> {
    let mut rows = Row::all();
    if !args.backends.is_empty() {
        rows.retain(|r| args.backends.contains(r));
    }
    if args.tpm.is_some() && !rows.contains(&Row::Tpm) {
        anyhow::bail!("--tpm is given but the tpm backend is not among --backend");
    }
    if cfg!(debug_assertions) && !args.json {
        eprintln!("minlab bench usig: warning: this is a debug build; use --release");
    }
    let keys = KeySet::from_seed(3, 1);
    let durable_parent = args.durable_dir.clone().unwrap_or_else(std::env::temp_dir);
    let mut subjects: Vec<Box<dyn Subject>> = Vec::new();
    let mut notes = Vec::new();
    let mut measured_rows = Vec::new();
    for &row in &rows {
        if row == Row::Tpm {
            let source = match &args.tpm {
                Some(tcti) => tpm::Source::Given(tcti),
                None => tpm::Source::PrivateSwtpm,
            };
            // Asked for by name: a missing TPM is an error; among all rows: a note.
            let asked = args.tpm.is_some() || args.backends.contains(&Row::Tpm);
            match tpm::build(&keys, source) {
                Ok(Ok(subject)) => subjects.push(subject),
                Ok(Err(why)) if !asked => {
                    notes.push(format!("tpm: not measured: {why}"));
                    continue;
                }
                Ok(Err(why)) => anyhow::bail!("the tpm backend cannot be measured: {why}"),
                Err(e) if !asked => {
                    notes.push(format!("tpm: not measured: {e:#}"));
                    continue;
                }
                Err(e) => return Err(e.context("the tpm backend")),
            }
        } else {
            subjects.push(subject::build(
                row,
                &keys,
                &durable_parent,
                args.durable_block,
            )?);
        }
        measured_rows.push(row);
    }
    let rows = measured_rows;
    notes.extend(subjects.iter().filter_map(|s| s.describe()));

    let progress = std::io::stderr().is_terminal() && !args.json;
    // Operation 2i is row i's create_ui, 2i + 1 its verify_ui.
    let series = timing::measure_interleaved(
        2 * subjects.len(),
        args.iterations,
        args.batches,
        |op, n| {
            let subject = &mut subjects[op / 2];
            if op % 2 == 0 {
                subject.create(n)
            } else {
                subject.verify(n)
            }
        },
        |round| {
            if progress {
                eprint!("\rmeasuring: round {round}/{}  ", args.batches);
                let _ = std::io::stderr().flush();
            }
        },
    );
    if progress {
        eprint!("\r{:<40}\r", "");
    }

    let mut results = Vec::with_capacity(rows.len());
    let mut series = series.into_iter();
    for (row, subject) in rows.iter().zip(subjects.iter_mut()) {
        let (Some(create), Some(verify)) = (series.next(), series.next()) else {
            unreachable!("two series per row");
        };
        let violation = if create.failures > 0 {
            Some(format!(
                "{}: {} of {} create_ui calls failed",
                row.name(),
                create.failures,
                create.calls
            ))
        } else if verify.failures > 0 {
            Some(format!(
                "{}: {} of {} verify_ui calls rejected a valid UI",
                row.name(),
                verify.failures,
                verify.calls
            ))
        } else {
            subject.check(create.calls).err()
        };
        if let Some(what) = violation {
            eprintln!("minlab bench usig: PROPERTY VIOLATED: {what}");
            eprintln!("reproduce with: minlab bench usig --backend {}", row.name());
            return Ok(Outcome::Violated);
        }
        results.push(Measured {
            row: *row,
            create,
            verify,
            durable: subject.durable(),
        });
    }
    if args.json {
        print_json(&results)?;
        for note in &notes {
            eprintln!("minlab bench usig: {note}");
        }
    } else {
        print_table(&results, args, &durable_parent.display().to_string());
        for note in &notes {
            println!("{note}");
        }
    }
    Ok(Outcome::Held)
}

fn round_tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn print_json(results: &[Measured]) -> Result<()> {
    let mut object = serde_json::Map::new();
    for m in results {
        object.insert(
            m.row.name().to_string(),
            serde_json::json!({
                "create_ns": round_tenth(m.create.median_ns()),
                "verify_ns": round_tenth(m.verify.median_ns()),
                "create_ns_mean": round_tenth(m.create.mean_ns()),
                "verify_ns_mean": round_tenth(m.verify.mean_ns()),
            }),
        );
    }
    println!("{}", serde_json::to_string(&object)?);
    Ok(())
}

/// The durable counter's cost on HMAC-SHA1 `create_ui`, in percent: from the median of
/// the per-round ratios (batches run back to back, so machine noise cancels) and from the
/// means (which include the reservation writes).
fn durable_overhead(durable: &Series, volatile: &Series) -> (f64, f64) {
    let ratios: Vec<f64> = durable
        .per_call_ns
        .iter()
        .zip(&volatile.per_call_ns)
        .map(|(d, v)| d / v)
        .collect();
    (
        100.0 * (median(&ratios) - 1.0),
        100.0 * (durable.mean_ns() / volatile.mean_ns() - 1.0),
    )
}

fn print_table(results: &[Measured], args: &Args, durable_dir: &str) {
    let batches = match args.iterations {
        Some(n) => format!("{} rounds of {n}-call batches", args.batches),
        None => format!("{} rounds of ~5 ms batches", args.batches),
    };
    println!("USIG createUI / verifyUI on a 20-byte message (the paper's Table 3 setting)");
    println!(
        "microseconds per call: median over {batches} (backends interleaved) after a {} ms \
         warm-up; (mean)",
        WARMUP.as_millis()
    );
    println!();
    println!("{:<26} {:>22} {:>22}", "backend", "create_ui", "verify_ui");
    let cell = |s: &Series| format!("{:.3} ({:.3})", s.median_ns() / 1e3, s.mean_ns() / 1e3);
    for m in results {
        println!(
            "{:<26} {:>22} {:>22}",
            m.row.name(),
            cell(&m.create),
            cell(&m.verify)
        );
    }
    for (name, create_ms, verify_ms) in PAPER_TABLE_3 {
        println!(
            "{:<26} {:>22} {:>22}",
            format!("paper: {name}"),
            format!("{:.3}", create_ms * 1e3),
            format!("{:.3}", verify_ms * 1e3)
        );
    }
    println!();
    println!(
        "paper: Veronese et al., Efficient Byzantine Fault-Tolerance, IEEE TC 2013, Table 3 \
         (Java 6, non-isolated USIG, 2011 hardware)."
    );
    let volatile = results
        .iter()
        .find(|m| m.row == Row::Volatile(UsigKind::HmacSha1));
    if let Some(durable) = results.iter().find(|m| m.row == Row::HmacSha1Durable) {
        let (writes, block) = durable.durable.unwrap_or_default();
        println!(
            "{DURABLE_NAME}: {block} values reserved per file write; {writes} writes in this \
             run (counter file under {durable_dir})."
        );
        if let Some(volatile) = volatile {
            let (median_pct, mean_pct) = durable_overhead(&durable.create, &volatile.create);
            println!(
                "durable counter cost on hmac-sha1 create_ui: {median_pct:+.1}% (median of \
                 paired rounds), {mean_pct:+.1}% (means, reservation writes included)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn a_short_run_holds_and_names_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let dir_arg = dir.path().to_str().unwrap();
        let cli = Cli::parse_from([
            "usig",
            "--json",
            "--iterations",
            "20",
            "--batches",
            "2",
            "--backend",
            "symbolic",
            "hmac-sha1+durable",
            "--durable-block",
            "7",
            "--durable-dir",
            dir_arg,
        ]);
        assert_eq!(run(&cli.args).unwrap(), Outcome::Held);
        // The durable counter's directory is cleaned up.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    /// The TPM row: measured on a private swtpm when the build has the tpm feature (and
    /// swtpm is installed), otherwise refused by name with the reason.
    #[test]
    fn the_tpm_row_is_measured_or_refused_with_a_reason() {
        let cli = Cli::parse_from(["usig", "--json", "--batches", "2", "--backend", "tpm"]);
        let result = run(&cli.args);
        if cfg!(feature = "tpm") && minlab_usig_has_swtpm() {
            assert_eq!(result.unwrap(), Outcome::Held);
        } else {
            let e = format!("{:#}", result.unwrap_err());
            assert!(e.contains("tpm"), "{e}");
        }
        // A TPM that is not there is an error, not a skipped row.
        let cli = Cli::parse_from(["usig", "--tpm", "swtpm:host=127.0.0.1,port=1"]);
        assert!(run(&cli.args).is_err());
        // --tpm without the tpm row is a contradiction.
        let cli = Cli::parse_from(["usig", "--backend", "symbolic", "--tpm", "x"]);
        let e = run(&cli.args).unwrap_err().to_string();
        assert!(e.contains("--tpm"), "{e}");
    }

    fn minlab_usig_has_swtpm() -> bool {
        #[cfg(feature = "tpm")]
        return minlab_usig::tpm::swtpm::available();
        #[cfg(not(feature = "tpm"))]
        false
    }

    #[test]
    fn paired_overhead_compares_round_by_round() {
        let series = |per_call: &[f64]| Series {
            batch_len: 1,
            per_call_ns: per_call.to_vec(),
            timed_calls: per_call.len() as u64,
            timed: std::time::Duration::from_nanos(per_call.iter().sum::<f64>() as u64),
            calls: per_call.len() as u64,
            failures: 0,
        };
        // The machine slows down in round 2 for both: the paired ratio is unaffected.
        let (median, mean) = durable_overhead(
            &series(&[110.0, 220.0, 110.0]),
            &series(&[100.0, 200.0, 100.0]),
        );
        assert!((median - 10.0).abs() < 1e-9, "{median}");
        assert!((mean - 10.0).abs() < 1e-9, "{mean}");
    }
}
