//! `minlab bench core`: how many requests per second a MinBFT group commits in a
//! single-threaded in-memory loop with no network cost (the protocol code alone).

use crate::Outcome;
use crate::run_cmd::now;
use minlab_protocols::bench::{CoreBenchConfig, bench_core};
use minlab_protocols::minbft::ClientAuth;
use minlab_usig::UsigKind;

/// Arguments of `minlab bench core`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Closed-loop clients, each with one outstanding request.
    #[arg(long, default_value_t = 1)]
    pub clients: u32,
    /// Most requests per PREPARE.
    #[arg(long, default_value_t = 1)]
    pub batch_size: usize,
    /// USIG backend: hmac-sha1, hmac-sha256, ed25519 or symbolic.
    #[arg(long, default_value = "hmac-sha1")]
    pub usig: UsigKind,
    /// Client authentication: none, mac or ed25519.
    #[arg(long, default_value = "none", value_parser = parse_auth)]
    pub client_auth: ClientAuth,
    /// Faults tolerated (2f + 1 replicas).
    #[arg(long, default_value_t = 1)]
    pub f: u32,
    /// Requests measured (after a warm-up of a tenth as many).
    #[arg(long, default_value_t = 300_000)]
    pub requests: u64,
    /// Replicas keep a write-ahead log (in memory: the cost of encoding and appending
    /// the records, and the number of fdatasyncs a disk would need).
    #[arg(long)]
    pub durable: bool,
    /// Print one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
}

fn parse_auth(s: &str) -> Result<ClientAuth, String> {
    match s {
        "none" => Ok(ClientAuth::None),
        "mac" => Ok(ClientAuth::MacAuthenticator),
        "ed25519" => Ok(ClientAuth::Ed25519),
        _ => Err(format!(
            "unknown client authentication {s:?}; expected none, mac or ed25519"
        )),
    }
}

/// Runs `minlab bench core`.
pub fn exec(args: &Args) -> anyhow::Result<Outcome> {
    if args.clients == 0 || args.batch_size == 0 || args.requests == 0 || args.f == 0 {
        anyhow::bail!("--clients, --batch-size, --requests and --f must be at least 1");
    }
    let mut cfg = CoreBenchConfig::new(args.clients, args.batch_size, args.requests);
    cfg.f = args.f;
    cfg.usig = args.usig;
    cfg.client_auth = args.client_auth;
    cfg.durable = args.durable;
    cfg.warmup = (args.requests / 10).max(1);
    let start = now();
    let clock = move || start.elapsed().as_nanos();
    let r = bench_core(&cfg, clock)?;
    if args.json {
        let v = serde_json::json!({
            "f": args.f,
            "clients": args.clients,
            "batch_size": args.batch_size,
            "usig": args.usig.name(),
            "requests": r.requests,
            "elapsed_ns": r.elapsed_ns as u64,
            "req_per_s": r.req_per_s,
            "msgs_per_req": r.msgs_per_req,
            "usig_creates_per_req": r.usig_creates_per_req,
            "usig_verifies_per_req": r.usig_verifies_per_req,
            "batch_size_avg": r.batch_size_avg,
            "rejections": r.rejections,
            "durable": args.durable,
            "wal_bytes_per_req": r.wal_bytes_per_req,
            "wal_syncs_per_req": r.wal_syncs_per_req,
        });
        println!("{v}");
    } else {
        println!(
            "MinBFT core loop, f = {}, {} clients, batch size {}, USIG {}:",
            args.f, args.clients, args.batch_size, args.usig
        );
        println!(
            "  {:.0} requests/s ({} requests in {:.3} s), {:.2} messages/request",
            r.req_per_s,
            r.requests,
            r.elapsed_ns as f64 / 1e9,
            r.msgs_per_req
        );
        println!(
            "  USIG per request: {:.3} create_ui, {:.3} verify_ui; average batch {:.1}; {} rejections",
            r.usig_creates_per_req, r.usig_verifies_per_req, r.batch_size_avg, r.rejections
        );
        if args.durable {
            println!(
                "  write-ahead log: {:.0} bytes and {:.3} group-committed fdatasyncs per request (all replicas)",
                r.wal_bytes_per_req, r.wal_syncs_per_req
            );
        }
    }
    Ok(Outcome::Held)
}
