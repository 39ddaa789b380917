//! A private swtpm for each test: started on free localhost ports with a temporary state
//! directory, killed on drop, and a timeout wrapper so that no test can hang on the TPM.

#![allow(dead_code)]
// Wall-clock deadlines for a real process, not simulated time.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

/// A running `swtpm socket`; killed (and its state directory removed) on drop.
pub struct Swtpm {
    child: Child,
    port: u16,
    state: tempfile::TempDir,
}

/// Ports already handed to a swtpm of this test process: tests run in parallel, and a
/// pair freed by the probe listeners could otherwise be handed out twice.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// Two consecutive free localhost ports (server, control), never handed out before.
fn free_ports() -> u16 {
    let mut used = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    for _ in 0..100 {
        let a = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
        let port = a.local_addr().expect("local address").port();
        if port < u16::MAX
            && !used.contains(&port)
            && !used.contains(&(port + 1))
            && TcpListener::bind(("127.0.0.1", port + 1)).is_ok()
        {
            used.insert(port);
            used.insert(port + 1);
            return port;
        }
    }
    panic!("no two consecutive free localhost ports");
}

fn spawn(state: &Path) -> (Child, u16) {
    let port = free_ports();
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
        .expect("start swtpm (install it with scripts/setup)");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // Ready when both the command and the control port accept connections.
        if TcpStream::connect(("127.0.0.1", port + 1)).is_ok()
            && TcpStream::connect(("127.0.0.1", port)).is_ok()
        {
            return (child, port);
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("swtpm exited at start: {status}");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("swtpm did not listen on port {port} within 10 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Swtpm {
    /// A fresh TPM (empty state).
    pub fn start() -> Self {
        let state = tempfile::tempdir().expect("temporary directory");
        let (child, port) = spawn(state.path());
        Swtpm { child, port, state }
    }

    /// The TCTI string that reaches it.
    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    /// Kills the process and starts a new one over the same state (a power cycle).
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, port) = spawn(self.state.path());
        self.child = child;
        self.port = port;
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `f` on another thread and fails the test if it takes longer than `secs` (a TPM
/// call that blocks forever must not hang the suite; the Swtpm guard, owned by the caller,
/// still kills the simulator).
pub fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(value)) => value,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("TPM test step did not finish within {secs} s"),
    }
}
