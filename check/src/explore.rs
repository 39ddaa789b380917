//! `--explore ADDR`: serves stateright's Explorer (a web UI that walks the model state by
//! state, showing each actor's state, the network and the properties) for a check.

use crate::config::{CheckConfig, ConfigError};
use crate::model::minbft_model;
use crate::report::Checkable;
use std::net::{TcpListener, ToSocketAddrs};

/// A running Explorer.
#[derive(Debug)]
pub struct Explorer {
    /// The address it listens on.
    pub addr: std::net::SocketAddr,
}

/// Starts the Explorer for `cfg` on `addr` (e.g. `127.0.0.1:3000`) on background threads
/// and returns once it listens; the server runs until the process ends. An address that does not
/// resolve or cannot be bound is an error (stateright itself would panic on it).
pub fn explore(cfg: &CheckConfig, addr: &str) -> Result<Explorer, ConfigError> {
    serve(minbft_model(cfg)?, cfg.threads, addr)
}

/// [`explore`] for the MinZyzyva model.
pub fn explore_minzyzyva(cfg: &CheckConfig, addr: &str) -> Result<Explorer, ConfigError> {
    serve(
        crate::minzyzyva::model::minzyzyva_model(cfg)?,
        cfg.threads,
        addr,
    )
}

fn serve<M: Checkable>(model: M, threads: usize, addr: &str) -> Result<Explorer, ConfigError> {
    let bad = |e: String| ConfigError(format!("--explore {addr}: {e}"));
    let resolved = addr
        .to_socket_addrs()
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("resolves to no address".into()))?;
    // Bind once to turn "in use" or "not permitted" into an error; port 0 picks one.
    let probe = TcpListener::bind(resolved).map_err(|e| bad(e.to_string()))?;
    let bound = probe.local_addr().map_err(|e| bad(e.to_string()))?;
    drop(probe);
    // stateright's `serve` never returns (it joins its web thread): give it a thread.
    std::thread::spawn(move || {
        let _ = model.checker().threads(threads).serve(bound);
    });
    // Ready once it accepts connections (a failed bind there would panic that thread).
    for _ in 0..200 {
        if std::net::TcpStream::connect(bound).is_ok() {
            return Ok(Explorer { addr: bound });
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    Err(bad("the Explorer did not start listening".into()))
}
