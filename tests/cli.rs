//! The `minlab` command line as a user meets it: exit codes, messages, files written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn minlab(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_minlab"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("minlab runs")
}

fn catalog(name: &str) -> String {
    format!(
        "{}/scenarios/catalog/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const TINY: &str = r#"
name = "tiny"
protocol = "minbft"
f = 1
run = { duration = "1s" }
workload = { clients = 3, requests_per_client = 20 }
expect = { safety = "hold", min_completed = 1000000 }
"#;

#[test]
fn run_passes_quickstart_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let o = minlab(&["run", &catalog("quickstart"), "--seed", "3"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("PASSED"));
    let o = minlab(&["run", &catalog("quickstart"), "--json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["passed"], true);
    assert_eq!(v["completed"], 800);
}

#[test]
fn a_failed_expectation_exits_1_with_the_reproduction_command() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
    let o = minlab(&["run", "tiny.toml", "--seed", "9"], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("minlab run tiny.toml --seed 9"),
        "{}",
        text(&o)
    );
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        TINY.replace("f = 1", "f = 1\nfoo = 2"),
    )
    .unwrap();
    let o = minlab(&["run", "bad.toml"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("unknown field `foo`"), "{}", text(&o));
    let o = minlab(&["run", "missing.toml"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("cannot read missing.toml"),
        "{}",
        text(&o)
    );
    let o = minlab(&["sweep", "bad.toml", "--seeds", "9..3"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let o = minlab(&["run"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let o = minlab(&["bench", "core", "--usig", "rot13"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("unknown USIG backend"), "{}", text(&o));
}

#[test]
fn sweep_shards_merge_into_the_whole_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let q = catalog("quickstart");
    let whole = minlab(
        &["sweep", &q, "--seeds", "1..7", "--json", "--jobs", "2"],
        dir.path(),
    );
    assert_eq!(whole.status.code(), Some(0), "{}", text(&whole));
    let mut files = Vec::new();
    for shard in ["0/2", "1/2"] {
        let o = minlab(
            &[
                "sweep", &q, "--seeds", "1..7", "--json", "--shard", shard, "--jobs", "1",
            ],
            dir.path(),
        );
        let f: PathBuf = dir.path().join(format!("s{}.json", files.len()));
        std::fs::write(&f, &o.stdout).unwrap();
        files.push(f);
    }
    let o = minlab(
        &[
            "sweep",
            "--merge",
            files[0].to_str().unwrap(),
            files[1].to_str().unwrap(),
            "--json",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let merged: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let whole: serde_json::Value = serde_json::from_slice(&whole.stdout).unwrap();
    // Same per-seed results whatever the jobs and shards.
    assert_eq!(merged["results"], whole["results"]);
    assert_eq!(merged["results"].as_array().unwrap().len(), 6);
    let o = minlab(
        &[
            "sweep",
            "--merge",
            files[0].to_str().unwrap(),
            files[0].to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "overlapping shards must be refused"
    );
}

#[test]
fn shrink_writes_a_smaller_scenario_that_still_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
    let o = minlab(
        &["shrink", "tiny.toml", "--seed", "4", "--out", "small.toml"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let small = minlab_scenarios::Scenario::load(dir.path().join("small.toml")).unwrap();
    assert!(u64::from(small.workload.clients) * small.workload.requests_per_client < 3 * 20);
    assert_eq!(small.seed, 4);
    let o = minlab(&["run", "small.toml"], dir.path());
    assert_eq!(
        o.status.code(),
        Some(1),
        "the shrunk scenario must still fail"
    );
    let o = minlab(
        &["shrink", &catalog("quickstart"), "--seed", "1"],
        dir.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "a passing run has nothing to shrink"
    );
}

#[test]
fn replay_writes_the_trace() {
    let dir = tempfile::tempdir().unwrap();
    let o = minlab(
        &["replay", &catalog("quickstart"), "--seed", "2"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let trace = std::fs::read_to_string(dir.path().join("quickstart-2.trace.jsonl")).unwrap();
    assert!(trace.lines().count() > 100);
    assert!(
        trace
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
}

#[cfg(not(feature = "tpm"))]
#[test]
fn tpm_commands_explain_how_to_get_tpm_support() {
    let dir = tempfile::tempdir().unwrap();
    let o = minlab(&["tpm", "provision"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--features tpm"), "{}", text(&o));
}

#[test]
fn check_explores_the_tiny_model_and_rejects_bad_options() {
    let dir = tempfile::tempdir().unwrap();
    let o = minlab(&["check", "minbft", "--json"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["unique_states"].as_u64().unwrap() > 100);
    assert_eq!(v["exhaustive"], true);
    let o = minlab(
        &[
            "check",
            "minbft",
            "--moves",
            "teleport",
            "--byzantine",
            "backup",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("teleport"), "{}", text(&o));
    // `--bfs` names the default search; it excludes the other two.
    let o = minlab(&["check", "minbft", "--bfs", "--json"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let bfs: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(bfs["unique_states"], v["unique_states"]);
    for other in [
        &["--dfs"][..],
        &["--simulation", "1", "--states-max", "10"][..],
    ] {
        let mut all = vec!["check", "minbft", "--bfs"];
        all.extend_from_slice(other);
        let o = minlab(&all, dir.path());
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains("cannot be used with"), "{}", text(&o));
    }
}

#[test]
fn check_minzyzyva_explores_and_refuses_what_it_cannot_check() {
    let dir = tempfile::tempdir().unwrap();
    let o = minlab(&["check", "minzyzyva", "--clients", "2"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("549 unique") && out.contains("whole bounded space explored"));
    assert!(out.contains("completed requests are never rolled back") && out.contains("holds"));
    // Batches of two: the primary may order both requests under one UI_p.
    let o = minlab(
        &["check", "minzyzyva", "--clients", "2", "--batch-size", "2"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("787 unique"), "{}", text(&o));
    // Crash recovery: the primary crashes at any point and recovers from its log.
    let o = minlab(
        &["check", "minzyzyva", "--crash", "0", "--requests", "2"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("165 unique"), "{out}");
    assert!(
        out.contains("a crashed replica recovers from its log"),
        "{out}"
    );
    for (args, says) in [
        (
            &["--crash", "0", "--byzantine", "primary"][..],
            "must not be the Byzantine one",
        ),
        (&["--crash", "3"][..], "must be one of the replicas"),
        (
            &["--crash", "1", "--scenario-out", "x.toml"][..],
            "cannot be replayed",
        ),
        (
            &["--byzantine", "primary", "--moves", "replay"][..],
            "not offered",
        ),
        (
            &["--byzantine", "primary", "--moves", "lie-installed-view"][..],
            "MinBFT only",
        ),
        (
            &["--batch-size", "0"][..],
            "batch size must be between 1 and 8",
        ),
        (&["--batch-size", "many"][..], "invalid digit"),
    ] {
        let mut all = vec!["check", "minzyzyva"];
        all.extend_from_slice(args);
        let o = minlab(&all, dir.path());
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains(says), "{}", text(&o));
    }
}

#[test]
fn report_paper_rejects_bad_seed_counts_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    for (k, expect) in [
        ("0", "0 is not in 1..=100"),
        ("101", "101 is not in 1..=100"),
        ("five", "invalid digit"),
    ] {
        let o = minlab(
            &["report", "paper", "--quick", "--seeds", k, "--out", "r"],
            dir.path(),
        );
        assert_eq!(o.status.code(), Some(2), "--seeds {k}: {}", text(&o));
        assert!(text(&o).contains(expect), "--seeds {k}: {}", text(&o));
        assert!(!dir.path().join("r").exists(), "--seeds {k} wrote a report");
    }
}

#[test]
fn check_writes_a_counterexample_that_run_replays() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "check",
        "minbft",
        "--clients",
        "2",
        "--byzantine",
        "primary",
        "--moves",
        "compromised-usig",
        "--scenario-out",
        "cx.toml",
    ];
    let o = minlab(&args, dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("counterexample to \"agreement\" written to cx.toml"),
        "{}",
        text(&o)
    );
    // The simulator's oracles see the same violation; the scenario expects it.
    let o = minlab(&["run", "cx.toml"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("agreement violated"), "{}", text(&o));

    // A step that cannot be applied: exit 2, naming the step.
    let cx = std::fs::read_to_string(dir.path().join("cx.toml")).unwrap();
    let i = cx.find("message = \"").unwrap() + "message = \"".len();
    let bad = format!(
        "{}ff00ff{}",
        &cx[..i],
        &cx[cx[i..].find('"').unwrap() + i..]
    );
    std::fs::write(dir.path().join("bad.toml"), bad).unwrap();
    let o = minlab(&["run", "bad.toml"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("the replay diverged at step 1") && text(&o).contains("does not decode"),
        "{}",
        text(&o)
    );
    #[cfg(not(feature = "mutants"))]
    {
        let m = cx.replacen("[replay]\n", "[replay]\nmutant = \"skip-no-hole\"\n", 1);
        std::fs::write(dir.path().join("mutant.toml"), m).unwrap();
        let o = minlab(&["run", "mutant.toml"], dir.path());
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains("--features mutants"), "{}", text(&o));
    }

    // No violation: nothing written, and it says so.
    let o = minlab(
        &["check", "minbft", "--scenario-out", "none.toml"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("no property violated: no scenario written to none.toml"));
    assert!(!dir.path().join("none.toml").exists());
    let o = minlab(
        &["check", "minzyzyva", "--scenario-out", "none.toml"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("no property violated: no scenario written to none.toml"));
    // Crash and recovery cannot be replayed yet: refused before checking.
    let o = minlab(
        &[
            "check",
            "minbft",
            "--crash",
            "1",
            "--scenario-out",
            "x.toml",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--crash"), "{}", text(&o));
}
