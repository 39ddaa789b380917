//! `minlab tpm`: set up a TPM 2.0 for the USIG (signing key and NV counter) and measure
//! `create_ui`/`verify_ui` on it. Needs a build with `--features tpm` (and libtss2).

use crate::Outcome;
use std::path::PathBuf;

/// Arguments of `minlab tpm`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: TpmCommand,
    /// The TCTI, e.g. `swtpm:host=127.0.0.1,port=2321` or `device:/dev/tpmrm0` (default:
    /// the TPM2TOOLS_TCTI or TCTI variable, else `device:/dev/tpmrm0`).
    #[arg(long, global = true)]
    tcti: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
enum TpmCommand {
    /// Create (or reuse) the USIG's signing key and NV counter and print the public identity
    /// peers need; with --key-file, also record it in that replica's key file.
    Provision {
        /// A key file written by `minlab keygen` to record the identity in.
        #[arg(long, requires = "replica")]
        key_file: Option<PathBuf>,
        /// The replica whose identity this is.
        #[arg(long)]
        replica: Option<u32>,
    },
    /// Create one UI for a message and print it as JSON (with the counter base and the
    /// handles), for checking with other tools: scripts/verify-tpm-ui.py.
    Sign {
        /// The message, in hex.
        #[arg(long, value_name = "HEX")]
        message_hex: String,
    },
    /// Time `create_ui` and `verify_ui` on this TPM (a 20-byte message).
    Bench {
        /// How many UIs to create.
        #[arg(long, default_value_t = 20)]
        count: u32,
    },
}

/// Bytes from hex digits (either case).
#[cfg_attr(not(feature = "tpm"), allow(dead_code))]
fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err("odd number of hex digits".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| format!("not hex at offset {i}"))
        })
        .collect()
}

/// Runs `minlab tpm`.
#[cfg(not(feature = "tpm"))]
pub fn exec(_args: &Args) -> anyhow::Result<Outcome> {
    anyhow::bail!(
        "this minlab was built without TPM support; rebuild with `cargo build --release \
         --features tpm` (needs libtss2-dev, which scripts/setup installs)"
    )
}

/// Runs `minlab tpm`.
#[cfg(feature = "tpm")]
pub fn exec(args: &Args) -> anyhow::Result<Outcome> {
    use anyhow::Context;
    use minlab_usig::tpm::{TpmConfig, TpmUsig, provision};
    use minlab_usig::{KeySet, Usig};

    let config = match &args.tcti {
        Some(t) => TpmConfig::new(t.clone()),
        None => TpmConfig::from_env(),
    };
    let identity = provision(&config).with_context(|| format!("TPM at {}", config.tcti))?;
    match &args.command {
        TpmCommand::Provision { key_file, replica } => {
            println!("TPM {}:", config.tcti);
            println!(
                "  signing key   0x{:08x} (ECDSA P-256, restricted)",
                config.key_handle
            );
            println!("  public key    {}", hex(&identity.key_sec1));
            println!("  signer name   {}", hex(&identity.signer_name));
            println!(
                "  NV counter    0x{:08x}, name {}",
                config.nv_index,
                hex(&identity.nv_name)
            );
            println!("  counter base  {}", identity.counter_base);
            if let (Some(path), Some(r)) = (key_file, replica) {
                let mut keys = KeySet::load(path)?;
                keys.set_tpm_identity(*r, identity)?;
                keys.save(path)?;
                println!("recorded in {} for replica {r}", path.display());
            }
        }
        TpmCommand::Sign { message_hex } => {
            let message =
                parse_hex(message_hex).map_err(|e| anyhow::anyhow!("--message-hex: {e}"))?;
            let mut keys = KeySet::from_seed(1, 0);
            keys.set_tpm_identity(0, identity.clone())?;
            let mut usig = TpmUsig::open(0, &keys, &config)?;
            let ui = usig.create_ui(&message)?;
            let minlab_usig::Certificate::Tpm(cert) = &ui.cert else {
                anyhow::bail!("the TPM USIG returned a {} certificate", ui.cert.kind());
            };
            let out = serde_json::json!({
                "message_hex": hex(&message),
                "counter": ui.counter,
                "counter_base": identity.counter_base,
                "r": hex(&cert.r),
                "s": hex(&cert.s),
                "clock": cert.clock,
                "reset_count": cert.reset_count,
                "restart_count": cert.restart_count,
                "safe": cert.safe,
                "firmware_version": cert.firmware_version,
                "tcti": config.tcti,
                "key_handle": format!("0x{:08x}", config.key_handle),
                "nv_index": format!("0x{:08x}", config.nv_index),
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        TpmCommand::Bench { count } => {
            let mut keys = KeySet::from_seed(1, 0);
            keys.set_tpm_identity(0, identity)?;
            let mut usig = TpmUsig::open(0, &keys, &config)?;
            let message = [7u8; 20];
            let mut uis = Vec::new();
            let start = crate::run_cmd::now();
            for _ in 0..*count {
                uis.push(usig.create_ui(&message)?);
            }
            let create = start.elapsed().as_secs_f64() / f64::from((*count).max(1));
            let start = crate::run_cmd::now();
            for ui in &uis {
                usig.verify_ui(0, ui, &message)?;
            }
            let verify = start.elapsed().as_secs_f64() / f64::from((*count).max(1));
            println!(
                "TPM {}: create_ui {:.3} ms, verify_ui {:.3} ms (mean of {count})",
                config.tcti,
                create * 1e3,
                verify * 1e3
            );
        }
    }
    Ok(Outcome::Held)
}

#[cfg(feature = "tpm")]
fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
