//! Stopping engine work whose answer nobody will read: the request's
//! deadline passed (the client's `grpc-timeout` or the server's
//! `--request-timeout`), or its client went away.
//!
//! The server makes a [`Cancel`] per request and cancels it; the engine's
//! loops over units (index candidates, full scans, concordance, analysis)
//! ask [`Cancel::is_cancelled`] as they go and stop, and the call returns
//! [`Error::Cancelled`]. Asking is one relaxed atomic load, cheap enough
//! for every unit of a scan.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

/// A flag that one side raises and the engine's loops watch. The default
/// is never cancelled (in-process callers, the command line).
#[derive(Debug, Clone, Default)]
pub struct Cancel(Option<Arc<AtomicBool>>);

impl Cancel {
    /// A token that [`Cancel::cancel`] can raise.
    pub fn new() -> Cancel {
        Cancel(Some(Arc::new(AtomicBool::new(false))))
    }

    /// Asks the work to stop; every clone sees it.
    pub fn cancel(&self) {
        if let Some(flag) = &self.0 {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// Whether the work should stop now. Call it from inside any loop over
    /// units.
    pub fn is_cancelled(&self) -> bool {
        self.is_cancelled_in("")
    }

    /// [`Cancel::is_cancelled`], from the loop named `site` (the test gate
    /// can hold one loop by its name).
    pub fn is_cancelled_in(&self, site: &str) -> bool {
        let Some(flag) = &self.0 else { return false };
        #[cfg(feature = "test-hooks")]
        gate::hold(flag, site);
        #[cfg(not(feature = "test-hooks"))]
        let _ = site;
        flag.load(Ordering::Relaxed)
    }

    /// [`Error::Cancelled`] once cancelled.
    pub fn check(&self) -> Result<()> {
        self.check_in("")
    }

    /// [`Cancel::check`], from the loop named `site`.
    pub fn check_in(&self, site: &str) -> Result<()> {
        if self.is_cancelled_in(site) {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// A test hook (feature `test-hooks`, which only the test build enables):
/// lets an integration test hold a request inside an engine loop and watch
/// it being cancelled, without timing. With `DHAKIRA_TEST_GATE` naming a
/// directory holding a file `hold`, the first cancellable loop to get there
/// creates `entered` (while that file exists, no other loop is held) and
/// waits until it is cancelled or `hold` is removed; once cancelled, it
/// creates `cancelled` and still waits for `hold` to be removed, so the test
/// sees what the server does while cancelled work has not stopped yet. When
/// `hold` holds a name, only the loop of that name is held (`reference-scan`:
/// the reference's loop over units, `reference-prepare`: its preparation).
#[cfg(feature = "test-hooks")]
mod gate {
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::OnceLock;
    use std::time::Duration;

    fn dir() -> Option<&'static PathBuf> {
        static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
        DIR.get_or_init(|| std::env::var_os("DHAKIRA_TEST_GATE").map(PathBuf::from)).as_ref()
    }

    pub(super) fn hold(flag: &AtomicBool, site: &str) {
        let Some(dir) = dir() else { return };
        let hold = dir.join("hold");
        let Ok(wanted) = std::fs::read_to_string(&hold) else { return };
        let wanted = wanted.trim();
        if !wanted.is_empty() && wanted != site {
            return;
        }
        // `entered` names the loop held.
        match std::fs::File::create_new(dir.join("entered")) {
            Ok(mut entered) => {
                let _ = std::io::Write::write_all(&mut entered, site.as_bytes());
            }
            Err(_) => return,
        }
        let pause = || std::thread::sleep(Duration::from_millis(5));
        while !flag.load(Ordering::Relaxed) && hold.exists() {
            pause();
        }
        if flag.load(Ordering::Relaxed) {
            let _ = std::fs::write(dir.join("cancelled"), b"");
            while hold.exists() {
                pause();
            }
        }
    }
}
