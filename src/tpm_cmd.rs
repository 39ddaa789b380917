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
    /// Show what the TPM is (manufacturer, firmware, NV write recovery time) and whether the
    /// USIG's key and counter are there; changes nothing on the TPM.
    Info,
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
    if let TpmCommand::Info = args.command {
        return info(&config).map(|()| Outcome::Held);
    }
    let identity = provision(&config).with_context(|| format!("TPM at {}", config.tcti))?;
    match &args.command {
        TpmCommand::Info => {}
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

/// `minlab tpm info`: read-only questions to the TPM.
#[cfg(feature = "tpm")]
fn info(config: &minlab_usig::tpm::TpmConfig) -> anyhow::Result<()> {
    use anyhow::Context;
    use minlab_usig::tpm::esys::{Esys, NO_SESSION};
    const PT_MANUFACTURER: u32 = 0x105;
    const PT_VENDOR_STRING_1: u32 = 0x106;
    const PT_FIRMWARE_VERSION_1: u32 = 0x10b;
    const PT_FIRMWARE_VERSION_2: u32 = 0x10c;
    const PT_NV_COUNTERS: u32 = 0x20a;
    const PT_NV_WRITE_RECOVERY: u32 = 0x212;

    let mut esys =
        Esys::connect(&config.tcti).with_context(|| format!("TPM at {}", config.tcti))?;
    let mut props = esys.tpm_properties(PT_MANUFACTURER, 8)?;
    props.extend(esys.tpm_properties(PT_NV_COUNTERS, 1)?);
    props.extend(esys.tpm_properties(PT_NV_WRITE_RECOVERY, 1)?);
    let get = |p: u32| props.iter().find(|(q, _)| *q == p).map(|(_, v)| *v);
    let text = |ps: std::ops::Range<u32>| -> String {
        ps.filter_map(get)
            .flat_map(u32::to_be_bytes)
            .filter(|b| b.is_ascii_graphic() || *b == b' ')
            .map(char::from)
            .collect::<String>()
            .trim()
            .to_string()
    };
    println!("TPM {}:", config.tcti);
    println!(
        "  manufacturer        {} (vendor string {:?})",
        text(PT_MANUFACTURER..PT_MANUFACTURER + 1),
        text(PT_VENDOR_STRING_1..PT_VENDOR_STRING_1 + 4)
    );
    match (get(PT_FIRMWARE_VERSION_1), get(PT_FIRMWARE_VERSION_2)) {
        (Some(a), Some(b)) => println!("  firmware            {a:#010x}.{b:#010x}"),
        _ => println!("  firmware            not reported"),
    }
    match get(PT_NV_WRITE_RECOVERY) {
        Some(ms) => println!("  NV write recovery   {ms} ms before the next NV write"),
        None => println!("  NV write recovery   not reported"),
    }
    if let Some(n) = get(PT_NV_COUNTERS) {
        println!("  NV counter indexes  {n} defined");
    }
    match esys.tr_from_public(config.key_handle) {
        Ok(key) => {
            let usig_key = esys.read_public(key)?.is_usig_key();
            println!(
                "  signing key         0x{:08x}: {}",
                config.key_handle,
                if usig_key {
                    "present, a restricted ECDSA P-256 key (the USIG's)"
                } else {
                    "present, but NOT a USIG key (provisioning will refuse it)"
                }
            );
        }
        Err(e) => println!(
            "  signing key         0x{:08x}: absent ({e})",
            config.key_handle
        ),
    }
    match esys.tr_from_public(config.nv_index) {
        Ok(nv) => match esys.nv_read(nv, NO_SESSION) {
            Ok(value) => println!(
                "  NV counter          0x{:08x}: value {value}",
                config.nv_index
            ),
            Err(e) => println!(
                "  NV counter          0x{:08x}: present, unreadable ({e})",
                config.nv_index
            ),
        },
        Err(e) => println!(
            "  NV counter          0x{:08x}: absent ({e})",
            config.nv_index
        ),
    }
    Ok(())
}

#[cfg(feature = "tpm")]
fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
