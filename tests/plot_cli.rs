//! `minlab plot` as a user meets it: charts from `minlab run --json` and sequence charts
//! from `minlab run --trace`, exit code 2 with a clear message on bad input.

use std::path::Path;
use std::process::{Command, Output};

fn minlab(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_minlab"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("minlab runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn plots_a_run_and_rejects_bad_input_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/catalog/quickstart.toml"
    );
    let run = minlab(&["run", scenario, "--json"], d);
    assert!(run.status.success(), "{}", stderr(&run));
    std::fs::write(d.join("run.json"), &run.stdout).unwrap();
    std::fs::write(d.join("garbage.json"), b"{ not json").unwrap();
    std::fs::write(d.join("other.json"), br#"{"hello": 1}"#).unwrap();

    let have_font = minlab_reports::font::ensure_font().is_ok();
    if have_font {
        for (kind, out) in [("cdf", "cdf.svg"), ("timeline", "tl.png")] {
            let o = minlab(
                &["plot", "--input", "run.json", "--kind", kind, "--out", out],
                d,
            );
            assert!(o.status.success(), "{kind}: {}", stderr(&o));
            assert!(std::fs::metadata(d.join(out)).unwrap().len() > 1000);
        }
        let svg = std::fs::read_to_string(d.join("cdf.svg")).unwrap();
        assert!(svg.contains("latency (ms)") && svg.contains("quickstart (seed 1)"));
    }

    let cases: [(&[&str], &str); 6] = [
        (
            &["--input", "missing.json", "--kind", "cdf", "--out", "x.svg"],
            "missing.json: cannot read",
        ),
        (
            &["--input", "garbage.json", "--kind", "cdf", "--out", "x.svg"],
            "garbage.json: not JSON",
        ),
        (
            &["--input", "other.json", "--kind", "cdf", "--out", "x.svg"],
            "neither a `minlab run --json`",
        ),
        (
            &["--input", "run.json", "--kind", "cdf", "--out", "x.gif"],
            "unknown image format",
        ),
        (
            &["--input", "run.json", "--kind", "seeds", "--out", "x.svg"],
            "needs `minlab sweep --json`",
        ),
        (
            &["--input", "run.json", "--kind", "pie", "--out", "x.svg"],
            "invalid value 'pie'",
        ),
    ];
    for (args, expect) in cases {
        let mut full = vec!["plot"];
        full.extend_from_slice(args);
        let o = minlab(&full, d);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(expect), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn draws_a_sequence_chart_of_a_trace_and_rejects_bad_windows() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/catalog/pbft-quickstart.toml"
    );
    let run = minlab(&["run", scenario, "--trace", "trace.jsonl"], d);
    assert!(run.status.success(), "{}", stderr(&run));
    std::fs::write(
        d.join("bad.jsonl"),
        b"{\"t\":1,\"ev\":\"deliver\",\"from\":\"r0\"}\n",
    )
    .unwrap();
    std::fs::write(d.join("run.json"), b"{\"scenario\":\"q\",\"seed\":1}").unwrap();
    std::fs::write(
        d.join("late.jsonl"),
        b"{\"t\":5,\"ev\":\"deliver\",\"from\":\"r0\",\"to\":\"r1\",\"msg\":\"X\",\"sent\":9}\n",
    )
    .unwrap();
    // Deliveries carry their send time, so the chart slants their arrows.
    let trace = std::fs::read_to_string(d.join("trace.jsonl")).unwrap();
    let deliveries: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains("\"ev\":\"deliver\""))
        .collect();
    assert!(!deliveries.is_empty());
    assert!(deliveries.iter().all(|l| l.contains(",\"sent\":")));

    if minlab_reports::font::ensure_font().is_ok() {
        let o = minlab(
            &[
                "plot",
                "--input",
                "trace.jsonl",
                "--kind",
                "sequence",
                "--out",
                "seq.svg",
                "--max-messages",
                "12",
            ],
            d,
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let svg = std::fs::read_to_string(d.join("seq.svg")).unwrap();
        // PBFT's normal case: the client's REQUEST to the primary, then the three phases.
        for s in ["REQUEST", "PRE-PREPARE", "PREPARE", "12 of ", "time (ms)"] {
            assert!(svg.contains(s), "{s} missing");
        }
    }

    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "--input",
                "late.jsonl",
                "--kind",
                "sequence",
                "--out",
                "x.svg",
            ],
            "late.jsonl: line 1: \"sent\" (9) is after the delivery",
        ),
        (
            &[
                "--input",
                "bad.jsonl",
                "--kind",
                "sequence",
                "--out",
                "x.svg",
            ],
            "bad.jsonl: line 1: no string \"to\"",
        ),
        (
            &[
                "--input", "run.json", "--kind", "sequence", "--out", "x.svg",
            ],
            "no unsigned integer \"t\"; expected a `minlab run --trace`",
        ),
        (
            &[
                "--input",
                "trace.jsonl",
                "--kind",
                "sequence",
                "--out",
                "x.svg",
                "--from",
                "9",
                "--to",
                "3",
            ],
            "--from 9 is after --to 3",
        ),
        (
            &[
                "--input",
                "trace.jsonl",
                "--kind",
                "sequence",
                "--out",
                "x.svg",
                "--from",
                "999999999999",
            ],
            "no event between",
        ),
        (
            &[
                "--input",
                "trace.jsonl",
                "--kind",
                "sequence",
                "--out",
                "x.svg",
                "--max-messages",
                "5000",
            ],
            "--max-messages must be 1 to 200",
        ),
    ];
    for (args, expect) in cases {
        let mut full = vec!["plot"];
        full.extend_from_slice(args);
        let o = minlab(&full, d);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(expect), "{args:?}: {}", stderr(&o));
    }
}
