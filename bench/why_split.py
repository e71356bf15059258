"""why_split.py: the evidence for giving the client and `serve` a CPU each (BENCHMARKS.md, "Why
the client and the endpoint each get their own CPU"), measured again, all at C=64:

- wrk with one thread and with two on the one client CPU, against `serve` on the other;
- the harness and wrk sharing both CPUs with `serve`, with its default worker threads (two)
  and with one (`TOKIO_WORKER_THREADS=1`): the same harness, a different scheduling;
- the harness with one runtime thread (its default) and with two (`run --threads 2`), sharing
  both CPUs with `serve`.

About a minute and a half; run it as bench/compare runs compare.py, after `bench/compare --quick` has
installed wrk:

usage: python3 bench/why_split.py BIN [--runs N] [--quick]

`--quick` (in `make bench-smoke`) runs every step briefly to prove the script still works; its
figures mean nothing.
"""

import os
import tempfile
import time
from pathlib import Path

import compare
from compare import Cores, shown

# The concurrency every step runs at, as the comparison's top one.
C = 64
# How requests per second are shown.
RATE = "{:,.0f}"


def threads_of(pid):
    return len(os.listdir(f"/proc/{pid}/task"))


def alternating(rep, first, second):
    """`first()` then `second()`, the other way round when `rep` is odd: both results, in the
    order the two were given."""
    if rep % 2:
        b = second()
        return first(), b
    a = first()
    return a, second()


def wrk_threads(binary, cores, bodies, tmp, seconds, runs):
    """wrk with one thread, then two, on the client CPU, each against a fresh `serve` on the
    server CPU: the two rates of each run."""

    def with_threads(t):
        with compare.fresh_serve(binary, cores.server) as s:
            return compare.wrk(s.url, C, seconds, bodies, tmp, s.pid, cores, threads=t)["rps"]

    return [alternating(rep, lambda: with_threads(1), lambda: with_threads(2)) for rep in range(runs)]


def shared_pairs(binary, bodies, tmp, cases, seconds, runs, workers):
    """The harness and wrk (two threads, as on shared CPUs) against fresh `serve`s with
    `workers` threads, all sharing every CPU: (harness req/s, wrk req/s, harness µs per
    request) per pair, and the threads the first `serve` ran."""
    shared = Cores()
    seen = []

    def one(run):
        with compare.fresh_serve(binary, None, workers) as s:
            seen.append(threads_of(s.pid))
            return run(s)

    def harness():
        return one(lambda s: compare.harness(binary, s.url, cases, C, tmp, s.pid, shared))

    def wrk():
        return one(lambda s: compare.wrk(s.url, C, seconds, bodies, tmp, s.pid, shared))

    pairs = []
    for rep in range(runs):
        h, w = alternating(rep, harness, wrk)
        pairs.append((h["rps"], w["rps"], h["us_per_request"]))
    return pairs, seen[0]


def harness_threads(binary, tmp, cases, runs):
    """The harness with `--threads 1`, then 2, against fresh `serve`s, all sharing every CPU:
    (req/s, µs per request) of each."""
    shared = Cores()

    def with_threads(t):
        with compare.fresh_serve(binary, None) as s:
            h = compare.harness(binary, s.url, cases, C, tmp, s.pid, shared, ("--threads", t))
            return h["rps"], h["us_per_request"]

    return [alternating(rep, lambda: with_threads(1), lambda: with_threads(2)) for rep in range(runs)]


def main():
    args, cores = compare.why_args(__doc__, "runs of each step (even)")
    cases, seconds, runs = (400, 1, 2) if args.quick else (60_000, 2, args.runs)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; C={C}; {cores.describe()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="why-split-") as tmp:
        bodies = Path(tmp) / "bodies.txt"
        with compare.fresh_serve(args.binary, None) as s:
            n = compare.record_bodies(args.binary, s.url, cases, bodies, tmp)
        print(f"recorded {n:,} bodies from a harness run of {cases:,} cases", flush=True)

        rates = wrk_threads(args.binary, cores, bodies, tmp, seconds, runs)
        print("wrk on the client CPU, req/s:", flush=True)
        print(f"  one thread:  {shown([one for one, _ in rates], RATE)}", flush=True)
        print(f"  two threads: {shown([two for _, two in rates], RATE)}", flush=True)

        print("sharing both CPUs, harness and wrk against serve:", flush=True)
        for workers in (None, 1):
            pairs, seen = shared_pairs(args.binary, bodies, tmp, cases, seconds, runs, workers)
            label = "its default worker threads" if workers is None else f"TOKIO_WORKER_THREADS={workers}"
            print(f"  serve with {label} ({seen} threads in all):", flush=True)
            print(f"    harness req/s {shown([h for h, _, _ in pairs], RATE)}", flush=True)
            print(f"    wrk req/s     {shown([w for _, w, _ in pairs], RATE)}", flush=True)
            print(f"    ratio         {shown([h / w for h, w, _ in pairs])}", flush=True)
            print(f"    harness µs a request {shown([us for _, _, us in pairs], '{:.1f}')}", flush=True)

        runs_threads = harness_threads(args.binary, tmp, cases, runs)
        print("sharing both CPUs, the harness with one runtime thread and with two:", flush=True)
        for i, label in enumerate(("--threads 1", "--threads 2")):
            rps = [r[i][0] for r in runs_threads]
            us = [r[i][1] for r in runs_threads]
            print(f"  {label}: req/s {shown(rps, RATE)}; µs a request {shown(us, '{:.1f}')}", flush=True)


if __name__ == "__main__":
    main()
