//! A private software TPM: starts `swtpm socket` (TPM 2.0) on free localhost ports over a
//! state directory the caller owns, and kills it on drop. `minlab bench usig`, `minlab
//! cluster bench --usig tpm` and the tests use it to run the TPM USIG without a TPM chip.

use crate::UsigError;
use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// How long a starting swtpm may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Start attempts (a probed port may be taken by someone else before swtpm binds it).
const START_ATTEMPTS: u32 = 5;

/// A running `swtpm socket --tpm2`; killed on drop (its state directory stays, so that a
/// new instance over the same directory is a power cycle of the same TPM).
#[derive(Debug)]
pub struct Swtpm {
    child: Child,
    port: u16,
    state: PathBuf,
}

/// Ports already handed to a swtpm of this process: a pair freed by the probe listeners
/// could otherwise be handed out twice when several start at once.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Two consecutive free localhost ports (command, control), never handed out before.
fn free_ports() -> Result<u16, UsigError> {
    let mut used = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..100 {
        let probe = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| UsigError::TpmSetup(format!("binding a localhost port: {e}")))?;
        let port = probe
            .local_addr()
            .map_err(|e| UsigError::TpmSetup(format!("local address: {e}")))?
            .port();
        if port < u16::MAX
            && !used.contains(&port)
            && !used.contains(&(port + 1))
            && TcpListener::bind(("127.0.0.1", port + 1)).is_ok()
        {
            used.insert(port);
            used.insert(port + 1);
            return Ok(port);
        }
    }
    Err(UsigError::TpmSetup(
        "no two consecutive free localhost ports for swtpm".into(),
    ))
}

/// Whether the `swtpm` program can be run here.
pub fn available() -> bool {
    Command::new("swtpm")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Swtpm {
    /// Starts a swtpm whose TPM state lives in `state_dir` (created if missing; an empty
    /// directory is a new TPM, an existing state resumes that TPM).
    pub fn start(state_dir: &Path) -> Result<Self, UsigError> {
        std::fs::create_dir_all(state_dir)
            .map_err(|e| UsigError::TpmSetup(format!("creating {}: {e}", state_dir.display())))?;
        let (child, port) = launch(state_dir)?;
        Ok(Swtpm {
            child,
            port,
            state: state_dir.to_path_buf(),
        })
    }

    /// The TCTI string that reaches it.
    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    /// Its state directory.
    pub fn state_dir(&self) -> &Path {
        &self.state
    }

    /// Kills the process and starts a new one over the same state (a power cycle; the
    /// port changes).
    pub fn restart(&mut self) -> Result<(), UsigError> {
        self.stop();
        (self.child, self.port) = launch(&self.state)?;
        Ok(())
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts swtpm over `state`, retrying when the probed ports were taken meanwhile.
fn launch(state: &Path) -> Result<(Child, u16), UsigError> {
    let mut last = String::new();
    for _ in 0..START_ATTEMPTS {
        match spawn(state)? {
            Ok(started) => return Ok(started),
            Err(why) => last = why,
        }
    }
    Err(UsigError::TpmSetup(format!("swtpm did not start: {last}")))
}

/// One start attempt: `Err` for a failure worth no retry, `Ok(Err)` for one worth a retry.
// Wall-clock deadline for an external process to come up (not protocol time).
#[allow(clippy::disallowed_methods)]
fn spawn(state: &Path) -> Result<Result<(Child, u16), String>, UsigError> {
    let port = free_ports()?;
    let mut child = Command::new("swtpm")
        .arg("socket")
        .arg("--tpmstate")
        .arg(format!("dir={}", state.display()))
        .arg("--tpm2")
        .arg("--server")
        .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
        .arg("--ctrl")
        .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1))
        .args(["--flags", "not-need-init,startup-clear"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            UsigError::TpmSetup(format!(
                "cannot run swtpm ({e}); install it (scripts/setup installs Debian's swtpm)"
            ))
        })?;
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    loop {
        // Ready when both the command and the control port accept connections.
        if TcpStream::connect(("127.0.0.1", port + 1)).is_ok()
            && TcpStream::connect(("127.0.0.1", port)).is_ok()
        {
            return Ok(Ok((child, port)));
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Ok(Err(format!("swtpm exited at start ({status})")));
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Err(format!(
                "swtpm did not listen on port {port} within {START_TIMEOUT:?}"
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
