//! Ctrl-C: the first stops the run from starting new work (the session then reports what was
//! done); the second ends the process at once with [`exit::INTERRUPTED`].

use std::io::Write;

use tokio::sync::watch;

use crate::exit;

/// Whether the run was asked to stop, shared by whoever raises it and whoever checks it.
#[derive(Clone, Debug)]
pub struct Interrupt(watch::Sender<bool>);

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt(watch::Sender::new(false))
    }
}

impl Interrupt {
    /// Asks the run to stop.
    pub fn raise(&self) {
        self.0.send_replace(true);
    }

    /// Whether the run was asked to stop.
    pub fn is_raised(&self) -> bool {
        *self.0.borrow()
    }

    /// Returns once the run is asked to stop.
    pub async fn raised(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let _ = rx.wait_for(|&raised| raised).await;
    }

    /// Listens for Ctrl-C on the current runtime: the first raises the interrupt, the second
    /// ends the process with [`exit::INTERRUPTED`] without writing reports.
    pub fn listen_for_ctrl_c(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            this.raise();
            let _ = writeln!(
                std::io::stderr(),
                "copyimage-conformance: interrupted: finishing the requests in flight, then writing the reports (Ctrl-C again aborts)"
            );
            if tokio::signal::ctrl_c().await.is_ok() {
                let _ = writeln!(std::io::stderr(), "copyimage-conformance: interrupted again: aborting");
                // The user asked twice: nothing may wait, not even the requests in flight.
                std::process::exit(i32::from(exit::INTERRUPTED));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn raising_wakes_a_waiter_and_stays_raised() {
        let interrupt = Interrupt::default();
        assert!(!interrupt.is_raised());
        let waiter = tokio::spawn({
            let i = interrupt.clone();
            async move { i.raised().await }
        });
        tokio::task::yield_now().await;
        interrupt.raise();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.expect("woken").expect("joined");
        assert!(interrupt.is_raised());
        interrupt.raised().await;
    }
}
