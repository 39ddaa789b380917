//! `minlab keygen`: fresh USIG key files for a real deployment, one per replica (its
//! share only) plus a public one for clients.

use crate::Outcome;
use anyhow::{Context, Result, bail};
use minlab_usig::KeySet;
use std::path::{Path, PathBuf};

/// The most replicas `keygen` writes files for; far above any MinBFT deployment.
const REPLICAS_MAX: u32 = 1000;

const EXAMPLES: &str = "\
Examples:
  minlab keygen --replicas 3 --out keys/            writes keys/replica-{0,1,2}.toml, keys/client.toml
  minlab keygen --replicas 5 --out keys/ --force    replaces existing key files

Each replica-I.toml holds every replica's HMAC key (USIG-Hmac shares them among the trusted
components), every Ed25519 public key and only replica I's Ed25519 secret. client.toml holds
the public keys only. Files are written with mode 0600; the keys come from the OS's
random number generator.";

/// Arguments of `minlab keygen`.
#[derive(clap::Args, Debug)]
#[command(after_help = EXAMPLES)]
pub struct Args {
    /// Number of replicas n (MinBFT tolerates f faults with n = 2f + 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(REPLICAS_MAX)))]
    replicas: u32,
    /// Directory for the key files (created if missing, with mode 0700).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Replace key files that already exist.
    #[arg(long)]
    force: bool,
}

/// Runs `minlab keygen`.
pub fn run(args: &Args) -> Result<Outcome> {
    let replica_files: Vec<(u32, PathBuf)> = (0..args.replicas)
        .map(|r| (r, args.out.join(format!("replica-{r}.toml"))))
        .collect();
    let client_file = args.out.join("client.toml");
    let all_files: Vec<&Path> = replica_files
        .iter()
        .map(|(_, p)| p.as_path())
        .chain([client_file.as_path()])
        .collect();

    if !args.force {
        let existing: Vec<&Path> = all_files.iter().copied().filter(|p| p.exists()).collect();
        if let Some(first) = existing.first() {
            let more = match existing.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            bail!(
                "refusing to overwrite {}{more}; pass --force to replace existing key files",
                first.display()
            );
        }
    }
    create_private_dir(&args.out)?;

    let keys = KeySet::generate(args.replicas).context("generating keys")?;
    for (r, path) in &replica_files {
        keys.for_replica(*r).save(path)?;
    }
    keys.public_only().save(&client_file)?;

    // Read everything back: what a replica will load must be exactly what we meant.
    for (r, path) in &replica_files {
        if KeySet::load(path)? != keys.for_replica(*r) {
            eprintln!(
                "minlab keygen: {} does not read back as written",
                path.display()
            );
            return Ok(Outcome::Violated);
        }
    }
    if KeySet::load(&client_file)? != keys.public_only() {
        eprintln!(
            "minlab keygen: {} does not read back as written",
            client_file.display()
        );
        return Ok(Outcome::Violated);
    }

    println!(
        "wrote {} key files to {} (mode 0600):",
        all_files.len(),
        args.out.display()
    );
    for (r, path) in &replica_files {
        println!(
            "  {}  replica {r}: all HMAC keys, all Ed25519 public keys, its own Ed25519 secret",
            path.display()
        );
    }
    println!(
        "  {}  clients: Ed25519 public keys only",
        client_file.display()
    );
    Ok(Outcome::Held)
}

/// Creates `dir` (and parents) if missing; a directory we create is owner-only.
fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if dir.exists() {
        bail!("--out {} exists and is not a directory", dir.display());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating directory {}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(out: &Path, replicas: u32, force: bool) -> Args {
        Args {
            replicas,
            out: out.to_path_buf(),
            force,
        }
    }

    #[test]
    fn writes_one_share_per_replica_and_a_public_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("keys");
        assert_eq!(run(&args(&out, 3, false)).unwrap(), Outcome::Held);
        let full: Vec<KeySet> = (0..3)
            .map(|r| KeySet::load(out.join(format!("replica-{r}.toml"))).unwrap())
            .collect();
        for (r, share) in full.iter().enumerate() {
            let r = r as u32;
            assert!(share.ed25519_secret(r).is_some());
            assert!(share.ed25519_secret((r + 1) % 3).is_none());
            assert_eq!(share.hmac_key(0), full[0].hmac_key(0));
        }
        let client = KeySet::load(out.join("client.toml")).unwrap();
        assert!(client.hmac_key(0).is_none() && client.ed25519_secret(0).is_none());
        assert_eq!(client.ed25519_public(2), full[0].ed25519_public(2));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&out), 0o700);
            assert_eq!(mode(&out.join("replica-0.toml")), 0o600);
        }
    }

    #[test]
    fn refuses_to_overwrite_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        std::fs::write(out.join("client.toml"), "mine").unwrap();
        let err = run(&args(out, 3, false)).unwrap_err().to_string();
        assert!(
            err.contains("refusing to overwrite") && err.contains("--force"),
            "{err}"
        );
        // Nothing was written, not even the files that did not exist.
        assert!(!out.join("replica-0.toml").exists());
        assert_eq!(
            std::fs::read_to_string(out.join("client.toml")).unwrap(),
            "mine"
        );
        assert_eq!(run(&args(out, 3, true)).unwrap(), Outcome::Held);
        assert!(KeySet::load(out.join("client.toml")).is_ok());
    }
}
