"""why_turns.py: the evidence for measuring moto in turns (BENCHMARKS.md, "Why the harness and
wrk take turns on moto"), measured again: how much the server CPU's speed wanders, what moto
spends building a Region's EC2 backend, and wrk against itself on moto three ways (back-to-back
pairs on fresh motos; in turns on cold motos; in turns on warmed-up motos, as bench/compare
measures). Any ratio of wrk to itself but 1 is the method's error. About four minutes; run it
as bench/compare runs compare.py, after `bench/compare --quick` has installed wrk and moto:

usage: python3 bench/why_turns.py BIN [--runs N] [--quick]

`--quick` (in `make bench-smoke`) runs every step briefly, at C=1 only, to prove the script
still works; its figures mean nothing.
"""

import os
import tempfile
import time
from pathlib import Path

import compare
from compare import DESCRIBE, MOTO_ARGS, fresh_moto, moto_call, shown


def cpu_speed(cpus, windows=12, seconds=2.0):
    """Rounds of a small Python loop (a dict of 1,000 strings) in consecutive windows, pinned
    to `cpus`: the CPU's speed as a CPU-bound Python server meets it."""
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        counts = []
        for _ in range(windows):
            start, rounds = time.monotonic(), 0
            while time.monotonic() - start < seconds:
                {str(k): k for k in range(1000)}
                rounds += 1
            counts.append(rounds)
        return counts
    finally:
        os.sched_setaffinity(0, old)


def region_builds(binary, cores, regions=("eu-west-1", "us-west-1", "ap-east-1")):
    """Milliseconds of moto's first DescribeImages in each Region after a reset, then of a second
    one in the last (the backend built)."""

    def timed_call(url, region):
        start = time.monotonic()
        moto_call(url, DESCRIBE, region)
        return (time.monotonic() - start) * 1000

    with fresh_moto(binary, cores) as m:
        moto_call(m.url, DESCRIBE)
        first = {r: timed_call(m.url, r) for r in regions}
        again = timed_call(m.url, regions[-1])
    return first, again


def wrk_pairs(binary, cores, bodies, tmp, c, seconds, runs):
    """wrk against wrk back to back, each on a fresh warmed-up moto: the first's rate over the
    second's."""
    ratios = []
    for _ in range(runs):
        rates = []
        for _ in range(2):
            with fresh_moto(binary, cores, bodies) as m:
                rates.append(compare.wrk(m.url, c, seconds, bodies, tmp, m.pid, cores, threads=1)["rps"])
        ratios.append(rates[0] / rates[1])
    return ratios


def wrk_turns(binary, cores, bodies, tmp, c, seconds, runs, warm):
    """wrk against wrk in turns on a fresh moto, warmed up with the bodies or not; the first
    turn alternates between the two."""
    ratios = []
    for rep in range(runs):
        with fresh_moto(binary, cores, bodies if warm else None) as m:
            ratios.append(compare.wrk_against_wrk(m, c, seconds, bodies, tmp, cores, rep % 2 == 0))
    return ratios


def main():
    args, cores = compare.why_args(__doc__, "runs of each way of measuring (even)")
    # Windows of the CPU loop, their seconds, the cases recorded, the concurrencies, seconds a run.
    windows, window, cases, concurrencies, seconds = (2, 0.5, 60, (1,), 1) if args.quick else (12, 2.0, 2000, (1, 8), 5)
    runs = 2 if args.quick else args.runs
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {cores.describe()}", flush=True)
    counts = cpu_speed(cores.server, windows, window)
    print(f"server CPU, rounds of a Python loop in {window:g} s windows: {min(counts):,} to {max(counts):,} ({counts})", flush=True)
    first, again = region_builds(args.binary, cores)
    print(
        "moto, first DescribeImages in a Region after a reset: "
        + ", ".join(f"{r} {ms:.0f} ms" for r, ms in first.items())
        + f"; again in the last: {again:.0f} ms",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="why-turns-") as tmp:
        bodies = Path(tmp) / "bodies.txt"
        with fresh_moto(args.binary, cores) as m:
            compare.record_bodies(args.binary, m.url, cases, bodies, tmp, MOTO_ARGS)
        for c in concurrencies:
            print(f"wrk against wrk on moto, C={c}, {seconds} s each:", flush=True)
            pairs = wrk_pairs(args.binary, cores, bodies, tmp, c, seconds, runs)
            print(f"  back to back, warmed-up motos: {shown(pairs)}", flush=True)
            cold = wrk_turns(args.binary, cores, bodies, tmp, c, seconds, runs, False)
            print(f"  in turns, cold motos:          {shown(cold)}", flush=True)
            warm = wrk_turns(args.binary, cores, bodies, tmp, c, seconds, runs, True)
            print(f"  in turns, warmed-up motos:     {shown(warm)}", flush=True)


if __name__ == "__main__":
    main()
