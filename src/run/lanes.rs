//! The lanes a run's cases go through: a fixed set of tasks, each taking the next waiting case
//! as soon as it has finished one, and the queue that feeds them and gives the records back in
//! case order.
//!
//! The caller's task (the one that pulls the records) takes cases from the generator and
//! queues them, their tickets and turns taken in case order; a lane takes the first queued
//! case, runs it and hands its record back. A lane goes on to its next case within the same
//! poll, so a case is made ready without waiting for a task to be spawned, or for the
//! caller's task, which the runtime polls only between batches of other tasks, to come round.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_util::stream::{FuturesUnordered, Stream};

/// What the caller and the lanes share.
struct Queue<J, R> {
    state: Mutex<State<J, R>>,
}

struct State<J, R> {
    /// Jobs queued and not yet taken by a lane, in case order, each with its number.
    queued: VecDeque<(u64, J)>,
    /// No more jobs will be queued.
    closed: bool,
    /// Lanes waiting for a job.
    idle: Vec<Waker>,
    /// Results from `next_out` on, in case order; `None` for a job not yet done.
    done: VecDeque<Option<R>>,
    /// The number of the next result the caller takes.
    next_out: u64,
    /// The caller, when it waits for a result or for room to queue jobs.
    caller: Option<Waker>,
}

fn lock<J, R>(queue: &Queue<J, R>) -> MutexGuard<'_, State<J, R>> {
    queue.state.lock().unwrap_or_else(|e| e.into_inner())
}

impl<J, R> Queue<J, R> {
    /// The next job, in case order, or `None` once the queue is closed and empty.
    async fn take(&self, refill_below: usize) -> Option<(u64, J)> {
        std::future::poll_fn(|cx| {
            let mut s = lock(self);
            if let Some(job) = s.queued.pop_front() {
                // The caller refills the queue before it runs dry.
                let caller = (s.queued.len() < refill_below).then(|| s.caller.take()).flatten();
                drop(s);
                caller.into_iter().for_each(Waker::wake);
                return Poll::Ready(Some(job));
            }
            if s.closed {
                return Poll::Ready(None);
            }
            s.idle.push(cx.waker().clone());
            let caller = s.caller.take();
            drop(s);
            caller.into_iter().for_each(Waker::wake);
            Poll::Pending
        })
        .await
    }

    /// Hands back the result of job `number`.
    fn give(&self, number: u64, result: R) {
        let mut s = lock(self);
        let at = (number - s.next_out) as usize;
        if s.done.len() <= at {
            s.done.resize_with(at + 1, || None);
        }
        s.done[at] = Some(result);
        let caller = (at == 0).then(|| s.caller.take()).flatten();
        drop(s);
        caller.into_iter().for_each(Waker::wake);
    }
}

/// The caller's side: queues jobs from `jobs`, gives results back in job order.
pub(crate) struct Lanes<I, J, R> {
    queue: Arc<Queue<J, R>>,
    // Boxed, so that the stream is `Unpin` whatever the iterator.
    jobs: Option<Box<I>>,
    /// Jobs queued so far.
    queued: u64,
    /// Jobs kept queued ahead of the lanes.
    ahead: usize,
    /// Most jobs queued and not yet given back to the caller: bounds the results held for a
    /// slow first job.
    window: usize,
    lanes: FuturesUnordered<Spawned<()>>,
}

impl<I, J, R> Lanes<I, J, R>
where
    I: Iterator<Item = J>,
    J: Send + 'static,
    R: Send + 'static,
{
    /// `lanes` tasks, each running `run` on one job after another, fed from `jobs`: up to
    /// `lanes` jobs wait queued ahead of them, and at most `window` jobs (never fewer than
    /// twice the lanes) are out at once (queued, running, or done and not yet taken).
    pub(crate) fn new<F, Fut>(jobs: I, lanes: usize, window: usize, run: F) -> Self
    where
        F: Fn(J) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
    {
        let lanes = lanes.max(1);
        let queue = Arc::new(Queue {
            state: Mutex::new(State {
                queued: VecDeque::new(),
                closed: false,
                idle: Vec::new(),
                done: VecDeque::new(),
                next_out: 0,
                caller: None,
            }),
        });
        let run = Arc::new(run);
        let refill_below = lanes / 2 + 1;
        let tasks = (0..lanes)
            .map(|_| {
                let (queue, run) = (Arc::clone(&queue), Arc::clone(&run));
                // Boxed: a lane's future holds a whole case's, a few KB, which tokio would
                // otherwise move while building the task.
                Spawned(tokio::spawn(Box::pin(async move {
                    while let Some((number, job)) = queue.take(refill_below).await {
                        let result = run(job).await;
                        queue.give(number, result);
                    }
                })))
            })
            .collect();
        Lanes {
            queue,
            jobs: Some(Box::new(jobs)),
            queued: 0,
            ahead: lanes,
            window: window.max(lanes * 2),
            lanes: tasks,
        }
    }
}

impl<I, J, R> Stream for Lanes<I, J, R>
where
    I: Iterator<Item = J>,
{
    type Item = R;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<R>> {
        let this = &mut *self;
        // A lane ends early only by a panic, which `Spawned` makes the caller's.
        while let Poll::Ready(Some(())) = Pin::new(&mut this.lanes).poll_next(cx) {}
        let mut s = lock(&this.queue);
        // Queue jobs (taken from the generator here, in case order) while the lanes have fewer
        // than one each waiting and the window has room.
        while let Some(jobs) = this.jobs.as_mut().filter(|_| s.queued.len() < this.ahead) {
            if this.queued - s.next_out >= this.window as u64 {
                break;
            }
            // Unlocked while the generator runs: the lanes go on meanwhile.
            drop(s);
            let next = jobs.next();
            s = lock(&this.queue);
            match next {
                Some(job) => {
                    s.queued.push_back((this.queued, job));
                    this.queued += 1;
                    if let Some(lane) = s.idle.pop() {
                        lane.wake();
                    }
                }
                None => {
                    this.jobs = None;
                    s.closed = true;
                    s.idle.drain(..).for_each(Waker::wake);
                }
            }
        }
        // Looked at, and the waker set below, under one hold of the lock the lanes give results
        // under: a result given after this look finds the waker.
        if let Some(Some(_)) = s.done.front() {
            let result = s.done.pop_front().flatten();
            s.next_out += 1;
            return Poll::Ready(result);
        }
        if this.jobs.is_none() && s.next_out == this.queued {
            return Poll::Ready(None);
        }
        match &mut s.caller {
            Some(w) if w.will_wake(cx.waker()) => {}
            caller => *caller = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// A lane's task, awaited for its end; dropping it stops the task.
struct Spawned<T>(tokio::task::JoinHandle<T>);

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
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use futures_util::StreamExt;
    use tokio::sync::Notify;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn results_come_back_in_job_order_whatever_order_the_jobs_finish_in() {
        // Job n sleeps the longer the smaller n is: the later ones finish first.
        let lanes = Lanes::new(0..40u64, 8, 16, |n: u64| async move {
            tokio::time::sleep(Duration::from_millis(40 - n)).await;
            n * 10
        });
        let got: Vec<u64> = lanes.collect().await;
        assert_eq!(got, (0..40).map(|n| n * 10).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_slow_first_job_holds_back_no_more_than_the_window() {
        let release = Arc::new(Notify::new());
        let pulled = Arc::new(AtomicUsize::new(0));
        let jobs = {
            let pulled = Arc::clone(&pulled);
            (0..1000u64).inspect(move |_| {
                pulled.fetch_add(1, Ordering::Relaxed);
            })
        };
        let first_waits = Arc::clone(&release);
        let mut lanes = Lanes::new(jobs, 4, 10, move |n: u64| {
            let release = Arc::clone(&first_waits);
            async move {
                if n == 0 {
                    release.notified().await;
                }
                n
            }
        });
        // The window is at least twice the lanes: 10 stays 10.
        let first = tokio::spawn(async move {
            let first = lanes.next().await;
            (first, lanes)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(pulled.load(Ordering::Relaxed), 10, "jobs taken while the first one waits");
        release.notify_one();
        let (first, lanes) = first.await.unwrap();
        assert_eq!(first, Some(0));
        assert_eq!(lanes.collect::<Vec<_>>().await, (1..1000).collect::<Vec<_>>());
    }

    #[tokio::test]
    #[should_panic(expected = "job 3 failed")]
    async fn a_job_that_panics_panics_the_caller() {
        let lanes = Lanes::new(0..10u64, 2, 4, |n: u64| async move {
            assert!(n != 3, "job {n} failed");
            n
        });
        let _: Vec<u64> = lanes.collect().await;
    }

    #[tokio::test]
    async fn dropping_the_stream_stops_the_jobs_running() {
        struct Alive(Arc<AtomicUsize>);
        impl Drop for Alive {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let alive = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&alive);
        let mut lanes = Lanes::new(0..100u64, 3, 6, move |n: u64| {
            counted.fetch_add(1, Ordering::Relaxed);
            let alive = Alive(Arc::clone(&counted));
            async move {
                if n > 0 {
                    std::future::pending::<()>().await;
                }
                drop(alive);
                n
            }
        });
        assert_eq!(lanes.next().await, Some(0));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(alive.load(Ordering::Relaxed), 3, "every lane runs a job that never ends");
        drop(lanes);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(alive.load(Ordering::Relaxed), 0, "the jobs were dropped with the stream");
    }

    #[tokio::test]
    async fn no_jobs_is_an_empty_stream() {
        let lanes = Lanes::new(std::iter::empty::<u64>(), 4, 8, |n: u64| async move { n });
        assert_eq!(lanes.collect::<Vec<_>>().await, Vec::<u64>::new());
    }
}
