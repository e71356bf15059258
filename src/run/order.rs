//! The order in which requests that share state reach the endpoint. Each request takes a
//! ticket for its shared keys (a Name, a ClientToken) when its case is dispatched, in case
//! order; it goes out only when its ticket is first in line for every one of its keys, and
//! leaves the lines when its ticket is dropped. The requests run on any worker thread, but
//! those that share a key still meet the endpoint (and the mirror) in case order.
//!
//! Also the turns on the wire: cases are made ready ahead of their turn, but at most
//! `concurrency` of them hold a slot (have a request out) at once, and they take their slots in
//! case order.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use std::task::{Poll, Waker};

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
    lines: HashMap<Key, Line, BuildHasherDefault<Spread>>,
}

/// The tickets waiting on one key, in order. The first is kept apart: most lines hold one
/// ticket, and then nothing is allocated for them.
#[derive(Debug)]
struct Line {
    first: u64,
    rest: VecDeque<u64>,
}

/// The shared keys of a request: its Name's and its ClientToken's, each when it has one.
pub(crate) type Keys = [Option<Key>; 2];

/// A shared key as the lines know it: a 64-bit hash of its kind and its text (see [`key`]).
/// Two keys with the same hash share a line: their requests then go in case order, as
/// requests on one key do, and nothing else changes; a hash costs less than a string kept
/// for every request.
pub(crate) type Key = u64;

/// The key of `kind` (a byte that keeps a Name from meeting the equal ClientToken) for the
/// text `bytes`: FNV-1a, spread by splitmix64's finaliser.
pub(crate) fn key(kind: u8, bytes: impl IntoIterator<Item = u8>) -> Key {
    let fnv = |h: u64, b: u8| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    super::splitmix64(bytes.into_iter().fold(fnv(0xcbf2_9ce4_8422_2325, kind), fnv))
}

/// The lines' hasher: a [`Key`] is a well-spread hash already, used as it is.
#[derive(Default)]
struct Spread(u64);

impl Hasher for Spread {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is called for a `Key`; anything else is folded in all the same.
        self.0 = key(0, bytes.iter().copied()) ^ self.0.rotate_left(5);
    }
    fn write_u64(&mut self, k: u64) {
        self.0 = k;
    }
}

/// A request's places in the lines of its keys; dropping it leaves them.
#[derive(Debug)]
pub(crate) struct Ticket {
    lines: Arc<Lines>,
    keys: Keys,
    number: u64,
}

impl Lines {
    /// A ticket at the back of the line of each of `keys`.
    pub(crate) fn take(self: &Arc<Self>, keys: Keys) -> Ticket {
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        let number = w.next;
        w.next += 1;
        for k in keys.iter().flatten() {
            w.lines
                .entry(*k)
                .and_modify(|line| line.rest.push_back(number))
                .or_insert(Line { first: number, rest: VecDeque::new() });
        }
        Ticket { lines: Arc::clone(self), keys, number }
    }
}

impl Ticket {
    /// The ticket's number: tickets are numbered in the order they are taken, from 0.
    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    /// Waits until the ticket is first in every line it is in.
    pub(crate) async fn first(&self) {
        if self.keys == [None, None] {
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
        self.keys.iter().flatten().all(|k| w.lines.get(k).is_some_and(|line| line.first == self.number))
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.keys == [None, None] {
            return;
        }
        let mut w = self.lines.waiting.lock().unwrap_or_else(|e| e.into_inner());
        for k in self.keys.iter().flatten() {
            let Some(line) = w.lines.get_mut(k) else { continue };
            if line.first == self.number {
                match line.rest.pop_front() {
                    Some(next) => line.first = next,
                    None => drop(w.lines.remove(k)),
                }
            } else {
                // A request dropped unsent (its run ended) may be further back.
                line.rest.retain(|n| *n != self.number);
            }
        }
        drop(w);
        self.lines.moved.notify_waiters();
    }
}

/// The slots for requests on the wire, given in the order the cases queued for them.
#[derive(Debug)]
pub(crate) struct Turns {
    desk: Arc<Mutex<Desk>>,
}

/// Who has a slot and who waits: turns are numbered in queue order from 0.
#[derive(Debug)]
struct Desk {
    /// Slots no turn holds.
    free: usize,
    /// The first turn not yet given a slot (or gone): every turn before it has had its slot.
    next: u64,
    /// The turns from `next` on, in queue order.
    queue: VecDeque<Place>,
}

/// Where a turn not yet given its slot stands.
#[derive(Debug)]
enum Place {
    /// Queued, not yet asking: the turns behind it wait, even for a free slot.
    Queued,
    /// Asking, to be woken when it has its slot.
    Waiting(Waker),
    /// Given up unsent: the turns behind it go on without it.
    Gone,
}

impl Desk {
    /// Gives free slots to the waiting turns at the front, in order, and returns their wakers
    /// (woken once the desk is unlocked). Every waiting turn that can have a slot gets it at
    /// once: handing the slot down the queue one woken task at a time (as a chain of
    /// hand-overs did) cost a pass through the runtime's queue for each, and the freed slots
    /// waited meanwhile.
    fn hand_out(&mut self) -> Vec<Waker> {
        let mut woken = Vec::new();
        loop {
            match self.queue.front() {
                Some(Place::Gone) => {}
                Some(Place::Waiting(_)) if self.free > 0 => self.free -= 1,
                _ => return woken,
            }
            if let Some(Place::Waiting(w)) = self.queue.pop_front() {
                woken.push(w);
            }
            self.next += 1;
        }
    }
}

impl Turns {
    /// Turns with `slots` slots (at least one).
    pub(crate) fn new(slots: usize) -> Self {
        Turns { desk: Arc::new(Mutex::new(Desk { free: slots.max(1), next: 0, queue: VecDeque::new() })) }
    }

    /// A turn behind every turn queued before it.
    pub(crate) fn queue(&self) -> Turn {
        let mut d = lock(&self.desk);
        let number = d.next + d.queue.len() as u64;
        d.queue.push_back(Place::Queued);
        Turn { desk: Some(Arc::clone(&self.desk)), number }
    }
}

fn lock(desk: &Mutex<Desk>) -> std::sync::MutexGuard<'_, Desk> {
    desk.lock().unwrap_or_else(|e| e.into_inner())
}

/// One case's turn on the wire: waited for with [`Turn::hold`], given up with
/// [`Turn::release`] (or by dropping it).
#[derive(Debug)]
pub(crate) struct Turn {
    /// `None` for a case that runs on its own, and once the turn is over.
    desk: Option<Arc<Mutex<Desk>>>,
    /// Its place in the queue: the turn has its slot once the desk's `next` is past it.
    number: u64,
}

impl Turn {
    /// The turn of a case run on its own, outside any queue: never waits.
    pub(crate) fn free() -> Self {
        Turn { desk: None, number: 0 }
    }

    /// Waits until every case queued earlier has had its slot and one is free, then holds it.
    /// Returns at once when the slot is held already, or the turn is free or over.
    pub(crate) async fn hold(&mut self) {
        let Some(desk) = self.desk.as_ref() else { return };
        let number = self.number;
        std::future::poll_fn(|cx| {
            let mut d = lock(desk);
            if number < d.next {
                return Poll::Ready(());
            }
            let at = (number - d.next) as usize;
            match &mut d.queue[at] {
                Place::Waiting(w) if w.will_wake(cx.waker()) => {}
                place => *place = Place::Waiting(cx.waker().clone()),
            }
            let woken = d.hand_out();
            let held = number < d.next;
            drop(d);
            for w in woken {
                // This turn's own waker among them would only poll it once more.
                if !(held && w.will_wake(cx.waker())) {
                    w.wake();
                }
            }
            if held { Poll::Ready(()) } else { Poll::Pending }
        })
        .await
    }

    /// Gives the slot back for good (the waiting turns it frees are woken to take it); whether
    /// a slot was held.
    pub(crate) fn release(&mut self) -> bool {
        let Some(desk) = self.desk.take() else { return false };
        let mut d = lock(&desk);
        // A turn before `next` was given a slot, even one whose `hold` was dropped unfinished.
        let had = self.number < d.next;
        if had {
            d.free += 1;
        } else {
            let at = (self.number - d.next) as usize;
            d.queue[at] = Place::Gone;
        }
        let woken = d.hand_out();
        drop(d);
        woken.into_iter().for_each(Waker::wake);
        had
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.release();
    }
}

/// Lets the tasks woken so far run before the caller goes on: after a [`Turn::release`], the
/// next case sends its request before this one is judged. (tokio's `yield_now` waits for the
/// I/O driver too, which costs a system call.)
pub(crate) async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn keys(k: &[&str]) -> Keys {
        let mut out = [None; 2];
        for (slot, s) in out.iter_mut().zip(k) {
            *slot = Some(key(b'k', s.bytes()));
        }
        out
    }

    #[tokio::test]
    async fn a_ticket_waits_for_the_earlier_ones_on_its_keys_only() {
        let lines = Arc::new(Lines::default());
        let a = lines.take(keys(&["name:x"]));
        let b = lines.take(keys(&["name:x", "token:t"]));
        let c = lines.take(keys(&["token:u"]));
        let free = lines.take([None, None]);
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
        assert!(
            lines.waiting.lock().unwrap().lines.keys().eq(keys(&["token:u"]).iter().flatten()),
            "b's lines are gone with it"
        );
        drop(c);
        assert!(lines.waiting.lock().unwrap().lines.is_empty());
    }

    #[tokio::test]
    async fn turns_go_in_queue_order() {
        let turns = Turns::new(2);
        let (mut a, mut b, mut c) = (turns.queue(), turns.queue(), turns.queue());
        // c is behind b, which has not asked for its slot yet: c waits although one is free.
        a.hold().await;
        let c_waits = tokio::spawn(async move {
            c.hold().await;
            c
        });
        tokio::task::yield_now().await;
        assert!(!c_waits.is_finished());
        b.hold().await;
        tokio::task::yield_now().await;
        assert!(!c_waits.is_finished(), "both slots are held");
        assert!(a.release());
        let mut c = c_waits.await.unwrap();
        assert!(b.release() && c.release());
        assert!(!c.release() && !Turn::free().release(), "only a held slot is given back");
    }

    #[tokio::test]
    async fn a_released_slot_goes_to_the_waiting_turn_which_sends_before_the_releaser_goes_on() {
        // Concurrency 1: b waits for a's slot. When a gives it back and yields once, b has run
        // to the point of sending before a goes on to be judged.
        let turns = Turns::new(1);
        let (mut a, mut b) = (turns.queue(), turns.queue());
        a.hold().await;
        let sent = Arc::new(AtomicUsize::new(0));
        let b_waits = tokio::spawn({
            let sent = Arc::clone(&sent);
            async move {
                b.hold().await;
                sent.fetch_add(1, Ordering::Relaxed);
                b
            }
        });
        tokio::task::yield_now().await;
        assert!(!b_waits.is_finished());
        assert!(a.release());
        yield_once().await;
        assert_eq!(sent.load(Ordering::Relaxed), 1, "b sent before a went on");
        let mut b = b_waits.await.unwrap();
        assert!(b.release());
    }

    #[tokio::test]
    async fn freed_slots_go_to_every_waiting_turn_they_can_at_once() {
        let turns = Turns::new(2);
        let (mut a, mut b) = (turns.queue(), turns.queue());
        let (c, d, e) = (turns.queue(), turns.queue(), turns.queue());
        a.hold().await;
        b.hold().await;
        let waiting: Vec<_> = [c, d]
            .into_iter()
            .map(|mut t| {
                tokio::spawn(async move {
                    t.hold().await;
                    t
                })
            })
            .collect();
        tokio::task::yield_now().await;
        // Both slots freed before either waiting task runs again: both have theirs already, not
        // one after the other as each is polled.
        assert!(a.release() && b.release());
        assert_eq!(lock(&turns.desk).next, 4, "c and d have their slots");
        // A turn given up unsent lets the ones behind it go.
        drop(e);
        let mut f = turns.queue();
        for t in waiting {
            assert!(t.await.unwrap().release());
        }
        f.hold().await;
        assert!(f.release());
        assert_eq!(lock(&turns.desk).free, 2);
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
        // The last ticket out takes its line with it: a run of many Names keeps no empty lines.
        drop(c);
        assert!(lines.waiting.lock().unwrap().lines.is_empty());
    }
}
