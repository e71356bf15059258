//! The order in which requests that share state reach the endpoint. Each request takes a
//! ticket for its shared keys (a Name, a ClientToken) when its case is dispatched, in case
//! order; it goes out only when its ticket is first in line for every one of its keys, and
//! leaves the lines when its ticket is dropped. The requests run on any worker thread, but
//! those that share a key still meet the endpoint (and the mirror) in case order. Also the
//! handle of the task a case runs on.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// The lines of waiting requests, one per shared key.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    waiting: Mutex<Waiting>,
    moved: Notify,
}

#[derive(Debug, Default)]
struct Waiting {
    next: u64,
    lines: HashMap<String, VecDeque<u64>>,
}

/// A request's places in the lines of its keys; dropping it leaves them.
#[derive(Debug)]
pub(crate) struct Ticket {
    lines: Arc<Lines>,
    keys: Vec<String>,
    number: u64,
}

impl Lines {
    /// A ticket at the back of the line of each of `keys`.
    pub(crate) fn take(self: &Arc<Self>, keys: Vec<String>) -> Ticket {
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let number = w.next;
        w.next += 1;
        for k in &keys {
            w.lines.entry(k.clone()).or_default().push_back(number);
        }
        Ticket { lines: Arc::clone(self), keys, number }
    }
}

impl Ticket {
    /// Waits until the ticket is first in every line it is in.
    pub(crate) async fn first(&self) {
        if self.keys.is_empty() {
            return;
        }
        loop {
            let notified = self.lines.moved.notified();
            tokio::pin!(notified);
            // Registered before the check, so a move between the check and the wait is not missed.
            notified.as_mut().enable();
            if self.is_first() {
                return;
            }
            notified.await;
        }
    }

    fn is_first(&self) -> bool {
        let w = self.lines.waiting.lock().unwrap_or_else(|e| e.into_inner());
        self.keys.iter().all(|k| w.lines.get(k).and_then(VecDeque::front) == Some(&self.number))
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        let mut w = self.lines.waiting.lock().unwrap_or_else(|e| e.into_inner());
        for k in &self.keys {
            if let Some(line) = w.lines.get_mut(k) {
                // Usually first; a request dropped unsent (its run ended) may be further back.
                line.retain(|n| *n != self.number);
                if line.is_empty() {
                    w.lines.remove(k);
                }
            }
        }
        drop(w);
        self.lines.moved.notify_waiters();
    }
}

/// A task a case runs on, awaited for its result; dropping it stops the task.
pub(crate) struct Spawned<T>(pub(crate) tokio::task::JoinHandle<T>);

impl<T> std::future::Future for Spawned<T> {
    type Output = T;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<T> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|joined| match joined {
            Ok(done) => done,
            // A case's panic is the run's, as it was when cases ran on the caller's thread.
            Err(e) => std::panic::resume_unwind(e.try_into_panic().unwrap_or_else(|e| Box::new(e.to_string()))),
        })
    }
}

impl<T> Drop for Spawned<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| (*s).to_owned()).collect()
    }

    #[tokio::test]
    async fn a_ticket_waits_for_the_earlier_ones_on_its_keys_only() {
        let lines = Arc::new(Lines::default());
        let a = lines.take(keys(&["name:x"]));
        let b = lines.take(keys(&["name:x", "token:t"]));
        let c = lines.take(keys(&["token:u"]));
        let free = lines.take(vec![]);
        assert!(a.is_first() && c.is_first());
        assert!(!b.is_first(), "b is behind a on name:x");
        free.first().await;
        let waiting = tokio::spawn(async move {
            b.first().await;
            b.number
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(a);
        assert_eq!(waiting.await.unwrap(), 1);
        assert!(lines.waiting.lock().unwrap().lines.keys().eq(["token:u"].iter()), "b's lines are gone with it");
        drop(c);
        assert!(lines.waiting.lock().unwrap().lines.is_empty());
    }

    #[test]
    fn a_ticket_dropped_from_the_middle_of_a_line_frees_its_place() {
        let lines = Arc::new(Lines::default());
        let a = lines.take(keys(&["k"]));
        let b = lines.take(keys(&["k"]));
        let c = lines.take(keys(&["k"]));
        drop(b);
        drop(a);
        assert!(c.is_first());
    }
}
