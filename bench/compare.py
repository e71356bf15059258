"""compare.py: the measurements behind BENCHMARKS.md; bench/compare installs wrk, GNU time and
moto, builds the binary and runs this with the system python.

The harness is timed from outside as a whole process: user+system CPU and peak RSS from GNU
time, and its wall time or, in turns, the time it was let run. wrk's CPU comes from GNU time
in pairs and from /proc/PID/stat in turns, read while it is stopped. A server's CPU comes from
/proc/PID/stat before and after a client's run (in turns, before and after each turn, its
total from the threads' /proc/PID/task/*/schedstat). Against `serve` and moto, whose pace follows the machine's
wandering CPU speed, the harness and wrk take turns of a tenth of a second on one fresh server
(bench/turns.py; moto warmed up first), and a ratio is the median of the runs'. Against the
steady stand-in, which holds its pace, they run back to back in pairs (the harness, then wrk
for as many whole seconds as the harness took; every other pair the other way round), each
against a fresh server; a ratio is the median of the pairs' ratios. The servers run on half
the CPUs and the clients on the other half (`Cores`), so that each side has CPUs of its own;
one series against `serve` also runs with both sharing every CPU, for reference.

usage: compare.py BIN [--quick] [--write] [--command TEXT] [--build TEXT] [--only serve|memory|moto]
"""

import argparse
import contextlib
import json
import os
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import turns

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "BENCHMARKS.md"
README = ROOT / "README.md"
TABLE = ("<!-- bench:begin -->", "<!-- bench:end -->")
HEADLINE = ("<!-- bench-headline:begin -->", "<!-- bench-headline:end -->")
# One of moto 5.2.5's default AMIs (us-east-1): it survives /moto-api/reset, so every run
# against moto starts from the same world.
MOTO_AMI = "ami-760aaa0f"
MOTO_DIR = ROOT / ".bench" / "moto"


@dataclass
class Mode:
    """How much to measure: the full comparison, or a smoke run that only proves it works."""

    reps: int
    serve_cases: dict
    serve_reps: int
    memory_cases: list
    bench_seconds: float
    stateful: tuple
    moto_cases: dict
    moto_reps: int
    calibration_reps: int
    steady_cases: dict
    steady_reps: int


FULL = Mode(
    reps=3,
    # Runs of 1-2 s of the harness's turns (2-4 s of wall time), so that its start-up (~20
    # ms: the spec, the world, the runtime) is 1-2 % of them.
    serve_cases={1: 20_000, 8: 60_000, 64: 60_000},
    # Back-to-back pairs moved by 10 % and more on this shared machine (at C=64 one run's six
    # spread from 0.63x to 1.00x); in turns they spread less, and six runs, three with each
    # client first, give a median that holds still.
    serve_reps=6,
    memory_cases=[10_000, 100_000, 1_000_000],
    bench_seconds=3.0,
    stateful=(250, 1000),
    # Runs of 6-10 s of the harness's turns against moto (~200-250 req/s): the start-up and
    # --discover (~0.1 s) are ~1 % of it.
    moto_cases={1: 1_500, 8: 2_000},
    # In turns, runs spread by a few hundredths where back-to-back pairs spread by tenths
    # (BENCHMARKS.md): four runs, two with each client taking the first turn.
    moto_reps=4,
    # wrk against wrk in turns, for the method's own error: once with each first.
    calibration_reps=2,
    # Runs of about 8 s against the steady stand-in (~180 req/s at C=1, ~1,400 at C=8); its
    # pace holds still, so four pairs are enough (an even number, as for moto, so that each
    # order has as many).
    steady_cases={1: 1_500, 8: 12_000},
    steady_reps=4,
)
# Sized for the debug build, which generates about 100 times slower than the release one.
QUICK = Mode(
    reps=1,
    serve_cases={1: 200, 8: 400, 64: 400},
    serve_reps=1,
    memory_cases=[300, 1_000],
    bench_seconds=0.3,
    stateful=(5, 20),
    moto_cases={1: 40, 8: 60},
    moto_reps=1,
    calibration_reps=1,
    steady_cases={1: 40, 8: 200},
    steady_reps=1,
)


@dataclass
class Cores:
    """Where the processes of a comparison run: `client` and `server` are sets of CPUs, or None
    for every CPU the comparison may use."""

    client: set = None
    server: set = None

    @staticmethod
    def split():
        """The first half of the CPUs for the clients, the second half for the servers; on one
        CPU there is nothing to split, and both share it."""
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            return Cores()
        half = len(cpus) // 2
        return Cores(set(cpus[:half]), set(cpus[half:]))

    def describe(self):
        if self.client is None:
            return "clients and servers share every CPU"
        return f"clients on CPU {span(self.client)}, servers on CPU {span(self.server)}"

    def client_count(self):
        return len(self.client) if self.client is not None else len(os.sched_getaffinity(0))

    def wrk_threads(self, concurrency):
        """wrk's threads at `concurrency`: one per client CPU (wrk's own design: an event loop
        per core), and no more than its connections."""
        return min(concurrency, self.client_count())


def span(cpus):
    return ",".join(map(str, sorted(cpus)))


def pinned(cpus):
    """A `preexec_fn` that keeps a child (and every process it starts) on `cpus`."""
    if cpus is None:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def check_pinned(pid, cpus, what):
    """Fails unless the process `pid` runs on exactly `cpus` (a server started through a
    launcher inherits the launcher's CPUs; this proves it did)."""
    if cpus is not None and os.sched_getaffinity(pid) != cpus:
        fail(f"{what} (PID {pid}) runs on CPU {span(os.sched_getaffinity(pid))}, not {span(cpus)}")


@dataclass
class Proc:
    """One timed process: wall seconds, user and system CPU seconds (`cpu` their sum), peak RSS
    in MB, its output."""

    rc: int
    wall: float
    user: float
    system: float
    rss_mb: float
    stdout: str
    stderr: str

    @property
    def cpu(self):
        return self.user + self.system


@dataclass
class Results:
    """Every figure, by name; each is a list with one value per repetition."""

    figures: dict = field(default_factory=dict)

    def add(self, name, value):
        self.figures.setdefault(name, []).append(value)

    def median(self, name):
        return statistics.median(self.figures[name])


def fail(message):
    print(f"bench/compare: {message}", file=sys.stderr)
    sys.exit(1)


def timed(cmd, tmp, env=None, ok=(0,), cpus=None):
    """Runs cmd under GNU time, on `cpus` when given; fails the comparison when it exits with a
    code not in `ok`."""
    report = Path(tmp) / "time.txt"
    start = time.monotonic()
    p = subprocess.run(
        under_time(cmd, report),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        check=False,
        preexec_fn=pinned(cpus),
    )
    wall = time.monotonic() - start
    check_exit(cmd, p.returncode, p.stderr, ok)
    user, system, rss = gnu_time_split(report, cmd[0])
    return Proc(p.returncode, wall, user, system, rss, p.stdout, p.stderr)


def under_time(cmd, report):
    """`cmd` run under GNU time, which writes its figures to `report`."""
    return ["/usr/bin/time", "-v", "-o", str(report), *map(str, cmd)]


def check_exit(cmd, code, stderr, ok=(0,)):
    """Fails the comparison when `cmd` exited with a code not in `ok`."""
    if code not in ok:
        fail(f"`{shlex.join(map(str, cmd))}` exited {code}:\n{stderr[-2000:]}")


def gnu_time_split(report, what):
    """User and system CPU seconds and peak RSS in MB from the report `/usr/bin/time -v -o
    report` wrote about `what`."""
    text = Path(report).read_text()

    def number(label):
        m = re.search(rf"{re.escape(label)}: ([0-9.]+)", text)
        if not m:
            fail(f"GNU time printed no `{label}` for {what}")
        return float(m.group(1))

    user, system = number("User time (seconds)"), number("System time (seconds)")
    return user, system, number("Maximum resident set size (kbytes)") / 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_split(pid):
    """User and system CPU seconds of a process so far (all its threads)."""
    fields = turns.stat_fields(pid)
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def server_meter(pid):
    """A meter of process `pid`'s CPU for bench/turns.py: its user and system seconds as
    /proc/PID/stat counts them, in whole clock ticks, and the seconds its threads have run, to
    the nanosecond (/proc/PID/task/*/schedstat). A tick (10 ms) is a tenth of a turn, so a
    turn's figure comes from the nanoseconds, split as the ticks of all the turns split
    (`metered_split`)."""
    ran = sum(int(Path(t, "schedstat").read_text().split()[0]) for t in Path(f"/proc/{pid}/task").iterdir())
    return (*cpu_split(pid), ran / 1e9)


def metered_split(metered, what):
    """The user and system CPU seconds a `server_meter` summed over a client's turns: the
    seconds its threads ran, split as its clock ticks split. Fails the comparison when that sum
    is below zero, which a thread of the server ending mid-run would make (its time leaves the
    threads' sum; `serve` keeps its threads for its whole life)."""
    user, system, ran = metered
    if ran < 0:
        fail(f"{what}'s threads changed while it was measured")
    ticks = user + system
    return (ran * user / ticks, ran * system / ticks) if ticks else (ran, 0.0)


def client_and_server(p, requests, server_before, server_pid):
    """The figures of a client run `p` that sent `requests` to the server `server_pid`, whose
    `cpu_split` was `server_before` when it began (see `figures`)."""
    server = [after - before for after, before in zip(cpu_split(server_pid), server_before)]
    return figures(requests, p.wall, (p.user, p.system), server)


def figures(requests, seconds, client, server):
    """A client's figures from the `requests` it sent in `seconds`, its own user and system CPU
    seconds (`client`) and the server's over the same time (`server`): the client's CPU per
    request and CPU %, the server's CPU %, and both sides' user and kernel µs per request."""
    per = 1e6 / requests
    return {
        "us_per_request": sum(client) * per,
        "cpu_pct": sum(client) / seconds * 100,
        "server_cpu_pct": sum(server) / seconds * 100,
        "user_us": client[0] * per,
        "kernel_us": client[1] * per,
        "server_user_us": server[0] * per,
        "server_kernel_us": server[1] * per,
    }


class Local:
    """A fresh server on a free loopback port, started by `command(port)`, on `cpus` when
    given; ready once it accepts a connection."""

    def __init__(self, what, command, cpus=None):
        self.what = what
        self.command = command
        self.cpus = cpus

    def __enter__(self):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/"
        self.proc = subprocess.Popen(
            [str(a) for a in self.command(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=pinned(self.cpus),
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    fail(f"{self.what} on port {port} did not start")
                time.sleep(0.02)
        self.pid = self.proc.pid
        check_pinned(self.pid, self.cpus, self.what)
        return self

    def __exit__(self, *_):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def fresh_serve(binary, cpus=None, workers=None):
    """A fresh `serve`, started as targets/embedded.toml starts it, with `workers` runtime
    threads when given (tokio reads `TOKIO_WORKER_THREADS`; `env` execs `serve`, so the PID is
    its own)."""
    env = ["env", f"TOKIO_WORKER_THREADS={workers}"] if workers else []
    return Local("serve", lambda port: [*env, binary, "serve", "--addr", f"127.0.0.1:{port}"], cpus)


# The stand-in's pace: moto takes about 5 ms a CopyImage on the benchmark machine.
STEADY_DELAY = 0.005


def steady_stand_in(cpus=None):
    """bench/steady_server.py: a stand-in for moto that answers at one pace (`STEADY_DELAY` a
    request, one request per connection)."""
    script = ROOT / "bench" / "steady_server.py"
    return Local("the steady stand-in", lambda port: [sys.executable, script, port, STEADY_DELAY], cpus)


class Moto:
    """moto as targets/moto.toml starts it, in .bench/moto (sharing the .moto venv that
    `scripts/moto-server install` made), so a moto the user runs from .moto is left alone; on
    `cpus` when given (moto inherits the launcher's CPUs)."""

    def __init__(self, binary, cpus=None):
        self.binary = binary
        self.cpus = cpus

    def targets(self, action, check=True):
        """`targets ACTION moto` on this moto's directory: its stdout; a failure fails the
        comparison when `check`."""
        p = subprocess.run(
            [self.binary, "targets", action, "moto", "--dir", str(MOTO_DIR)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            check=False,
            preexec_fn=pinned(self.cpus),
        )
        if check and p.returncode != 0:
            fail(f"targets {action} moto: exit {p.returncode}\n{p.stderr[-2000:]}")
        return p.stdout

    def __enter__(self):
        MOTO_DIR.mkdir(parents=True, exist_ok=True)
        venv = MOTO_DIR / "venv"
        if not venv.exists():
            venv.symlink_to(ROOT / ".moto" / "venv")
        try:
            self.url = self.targets("start").strip().splitlines()[-1].rstrip("/") + "/"
            self.pid = int((MOTO_DIR / "moto.pid").read_text().strip())
            check_pinned(self.pid, self.cpus, "moto")
        except BaseException:
            # A moto started halfway (a TERM, a failed check) is stopped, not left behind:
            # `targets start` runs it in a session of its own.
            self.targets("stop", check=False)
            raise
        self.python = str(venv / "bin" / "python")
        return self

    def reset(self):
        self.targets("reset")

    def __exit__(self, *_):
        self.targets("stop")


def harness(binary, url, cases, concurrency, tmp, server_pid, cores, extra=()):
    """One `run` against url on the client CPUs: requests per second and wall time, with
    `client_and_server`'s figures."""
    out = Path(tmp) / "report.txt"
    cmd = [binary, "run", "--endpoint", url, "--cases", cases, "--concurrency", concurrency, "--quiet"]
    before = cpu_split(server_pid)
    p = timed([*cmd, *extra, "--output", out], tmp, ok=(0, 1), cpus=cores.client)
    requests = requests_in(out, cmd)
    return {"rps": requests / p.wall, "wall": p.wall, **client_and_server(p, requests, before, server_pid)}


def requests_in(report, cmd):
    """The requests a harness run's text report counts; fails the comparison when more than 1 %
    of them met a transport error (a rate of failed requests is not a rate of answers)."""
    text = Path(report).read_text()
    m = re.search(r"^(\d+) requests, \d+ retried", text, re.M)
    errors = re.search(r"(\d+) transport errors", text)
    if not m or not errors:
        fail(f"no request count in the report of `{shlex.join(map(str, cmd))}`:\n{text[:600]}")
    requests = int(m.group(1))
    if requests == 0:
        fail(f"no request answered in `{shlex.join(map(str, cmd))}`:\n{text[:600]}")
    if int(errors.group(1)) * 100 > requests:
        fail(f"more than 1 % transport errors in `{shlex.join(map(str, cmd))}`:\n{text[:600]}")
    return requests


def wrk(url, concurrency, seconds, bodies, tmp, server_pid, cores, threads=None):
    """wrk replaying the recorded bodies for whole seconds on the client CPUs, one thread per
    client CPU (wrk's own design: an event loop per core) unless `threads` says (one thread
    on one CPU outran two there: `bench/why_split.py`)."""
    cmd = wrk_command(url, concurrency, seconds, threads or cores.wrk_threads(concurrency))
    before = cpu_split(server_pid)
    p = timed(cmd, tmp, env=dict(os.environ, BODIES=str(bodies)), cpus=cores.client)
    requests, seconds = wrk_requests(p.stdout)
    return {"rps": requests / seconds, **client_and_server(p, requests, before, server_pid)}


def wrk_command(url, concurrency, seconds, threads):
    """wrk replaying bench/replay.lua's bodies for `seconds`."""
    script = ROOT / "bench" / "replay.lua"
    # The harness's own default timeout (10 s), not wrk's 2 s: a loaded moto answers late.
    return ["wrk", "-t", threads, "-c", concurrency, "-d", f"{seconds}s", "--timeout", "10s", "-s", script, url]


def wrk_requests(stdout):
    """The requests wrk's summary counts and the seconds it ran; fails the comparison when more
    than 1 % of them met a socket error (as for the harness)."""
    m = re.search(r"(\d+) requests in ([0-9.]+)(us|ms|s|m|h),", stdout)
    if not m:
        fail(f"wrk printed no request count:\n{stdout}")
    requests = int(m.group(1))
    seconds = float(m.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}[m.group(3)]
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", stdout)
    if errors and sum(map(int, errors.groups())) * 100 > requests:
        fail(f"wrk met more than 1 % socket errors:\n{stdout}")
    return requests, seconds


def record_bodies(binary, url, cases, path, tmp, extra=()):
    """The bodies a harness run sends, in order (setup requests first), from its JSON report's
    curl reproductions: byte for byte what the harness put on the wire in that run."""
    report = Path(tmp) / "record.json"
    cmd = [binary, "run", "--endpoint", url, "--cases", cases, "--concurrency", 8, "--format", "json", "--quiet"]
    timed([*cmd, *extra, "--output", report], tmp, ok=(0, 1))
    bodies = []
    for case in json.loads(report.read_text())["cases"]:
        for step in [*case.get("setup", []), case]:
            words = shlex.split(step["curl"].replace("\\\n", " "))
            body = words[words.index("--data-binary") + 1]
            # One body per line for wrk; none of the generated bodies has a line break
            # (they are percent-encoded), and one that had would be left out.
            if "\n" not in body and "\r" not in body:
                bodies.append(body)
    if not bodies:
        fail("the recording run sent no bodies")
    Path(path).write_text("\n".join(bodies) + "\n")
    return len(bodies)


def pair(rep, c, walls, run_harness, run_wrk):
    """One pair at concurrency `c`: the harness, then wrk for as many whole seconds as it took;
    every other pair (`rep` odd) wrk first, for as long as the harness's last run at `c` took
    (kept in `walls`), so that the server or the machine speeding up or slowing down within a
    pair favours neither. The harness's and wrk's figures, and which went first."""
    wrk_first = rep % 2 == 1 and c in walls
    if wrk_first:
        w = run_wrk(walls[c])
    h = run_harness()
    walls[c] = h["wall"]
    if not wrk_first:
        w = run_wrk(h["wall"])
    return h, w, "wrk first" if wrk_first else "harness first"


def cpu_parts(figures, client):
    """A client run's user and kernel µs per request and its server's, named for `add_pair`:
    `{client}_user_us`, `{client}_server_kernel_us` and so on."""
    return {
        f"{who}_{part}_us": figures[f"{key}{part}_us"]
        for who, key in ((client, ""), (f"{client}_server", "server_"))
        for part in ("user", "kernel")
    }


def add_pair(results, name, c, h, w, **extra):
    """One pair's figures under `{name}.c{c}.`: both rates, their ratio, and `extra`."""
    for key, value in {"harness": h["rps"], "wrk": w["rps"], "ratio": h["rps"] / w["rps"], **extra}.items():
        results.add(f"{name}.c{c}.{key}", value)


def writes(pid):
    """The write calls process `pid` has made so far (`syscw` in /proc/PID/io). For wrk, the
    requests it has sent: each is one `write` to its socket, its only writes until it prints
    its summary at the end. Counting them costs wrk nothing, where counting answers in
    replay.lua's `response` (as against moto) costs it Lua and a file write per answer, which at
    `serve`'s pace of tens of thousands a second would slow it by a tenth and more."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        name, _, value = line.partition(": ")
        if name == "syscw":
            return int(value)
    fail(f"/proc/{pid}/io has no syscw")


def wrk_turn_figures(w, c, server=None):
    """A held wrk's rate and CPU over its turns, read while it is stopped, with `figures`'
    names when `server` (the server's CPU over its turns) is given; it is then let finish.
    Its requests are the ones it sent (`writes`), up to `c` of them still unanswered when it was
    last stopped: a lean towards wrk of `c` requests in a run's tens of thousands. Fails the
    comparison if wrk met socket errors on more than 1 % of its requests, or if its summary,
    which counts answers, holds fewer than it sent less `c`."""
    sent, cpu = writes(w.proc.pid), cpu_split(w.proc.pid)
    answered = wrk_finished(w)
    if not 0 < sent <= answered + c:
        fail(f"wrk wrote {sent} requests in its turns and counted {answered} answers in all")
    rate = {"rps": sent / w.ran}
    return {**rate, **figures(sent, w.ran, cpu, server)} if server is not None else rate


def serve_in_turns(binary, c, cases, bodies, tmp, cores, harness_first):
    """The harness (`run --cases cases`) and wrk taking turns on one fresh `serve` at
    concurrency `c`: each one's `figures` over its own turns (`serve`'s CPU counted turn by
    turn), and the seconds the harness ran."""
    out, timing = Path(tmp) / "report.txt", Path(tmp) / "time.txt"
    with fresh_serve(binary, cores.server) as s, contextlib.ExitStack() as stack:
        cmd = [binary, "run", "--endpoint", s.url, "--cases", cases, "--concurrency", c, "--quiet"]
        w = wrk_held(stack, s.url, c, bodies, cores, cores.wrk_threads(c))
        h = held(stack, under_time([*cmd, "--output", out], timing), cores)
        in_turns(h, w, harness_first, meter=lambda: server_meter(s.pid))
        wrk_figures = wrk_turn_figures(w, c, metered_split(w.metered, "serve"))
        code, _, err = h.finish()
    check_exit(cmd, code, err, ok=(0, 1))
    requests = requests_in(out, cmd)
    user, system, _ = gnu_time_split(timing, binary)
    server = metered_split(h.metered, "serve")
    harness_figures = {"rps": requests / h.ran, **figures(requests, h.ran, (user, system), server)}
    return harness_figures, wrk_figures, h.ran


def serve_wrk_against_wrk(binary, c, seconds, bodies, cores, first):
    """Two wrks taking turns on one fresh `serve` for `seconds` each: the method's own error,
    as the first wrk's rate over the second's (the first takes the first turn when `first`)."""
    with fresh_serve(binary, cores.server) as s, contextlib.ExitStack() as stack:
        a, b = (wrk_held(stack, s.url, c, bodies, cores, cores.wrk_threads(c)) for _ in "ab")
        in_turns(a, b, first, seconds)
        return wrk_turn_figures(a, c)["rps"] / wrk_turn_figures(b, c)["rps"]


def against_serve(binary, mode, tmp, results, cores):
    """The harness against wrk on `serve`, taking turns (`mode.serve_reps` runs at each
    concurrency, as many with each client first), wrk against wrk for the method's own error,
    and one series with client and `serve` sharing every CPU, for reference."""
    bodies = Path(tmp) / "serve-bodies.txt"
    with fresh_serve(binary) as s:
        # As against moto, a quarter more than the longest harness run sends, from the same
        # seed: the same bodies, and few sent twice by a wrk that runs as long.
        n = record_bodies(binary, s.url, max(mode.serve_cases.values()) * 5 // 4, bodies, tmp)
    print(f"  recorded {n} bodies from a harness run against serve", flush=True)

    def series(name, c, cases, cores):
        """`serve_reps` runs at concurrency `c`, the processes placed on `cores`; figures under
        `name`; the median seconds the harness ran."""
        ran = []
        for rep in range(mode.serve_reps):
            first = rep % 2 == 0
            h, w, seconds = serve_in_turns(binary, c, cases, bodies, tmp, cores, first)
            ran.append(seconds)
            print(
                f"  serve C={c}{'' if name == 'serve' else ', cores shared'} #{rep + 1} (in turns, "
                f"{'harness' if first else 'wrk'} first): harness {h['rps']:.0f} req/s, wrk {w['rps']:.0f} req/s",
                flush=True,
            )
            add_pair(
                results,
                name,
                c,
                h,
                w,
                harness_us=h["us_per_request"],
                wrk_us=w["us_per_request"],
                harness_cpu=h["cpu_pct"],
                server_cpu=h["server_cpu_pct"],
                wrk_cpu=w["cpu_pct"],
                wrk_server_cpu=w["server_cpu_pct"],
                **cpu_parts(h, "harness"),
                **cpu_parts(w, "wrk"),
            )
        return statistics.median(ran)

    print(f"  {cores.describe()}", flush=True)
    for c, cases in mode.serve_cases.items():
        seconds = series("serve", c, cases, cores)
        for rep in range(mode.calibration_reps):
            ratio = serve_wrk_against_wrk(binary, c, seconds, bodies, cores, rep % 2 == 0)
            print(f"  serve C={c}, wrk against wrk in turns #{rep + 1}: {ratio:.3f}x", flush=True)
            results.add(f"serve.c{c}.calibration", ratio)
    # For reference: client and endpoint on the same CPUs, where the scheduler decides who
    # waits (`bench/why_split.py` measures the same harness against wrk with `serve` on one
    # worker thread and on two).
    if cores.client is not None:
        top = max(mode.serve_cases)
        series("serve.shared", top, mode.serve_cases[top], Cores())


# The harness's arguments against moto. No shrinking: its candidates are requests the recorded
# bodies do not hold (many of them crash moto, its dearest answer), so wrk would not be sent the
# same requests.
MOTO_ARGS = ("--discover", MOTO_AMI, "--shrink-budget", 0)
# About two seconds of moto's time: enough to meet each kind of answer the bodies ask for.
WARM_BODIES = 300
# A request that builds a Region's EC2 backend in moto (and finds the AMI every run copies).
DESCRIBE = f"Action=DescribeImages&Version=2016-11-15&ImageId.1={MOTO_AMI}"


@contextlib.contextmanager
def fresh_moto(binary, cores, bodies=None):
    """A moto started for one measured run, so that every run starts from the same moto. Given
    `bodies` (the recorded requests), it is warmed up before it is measured: it answers the
    first `WARM_BODIES` of them, is reset, and then builds the EC2 backend of every Region the
    bodies name, which moto does on a Region's first use and a reset undoes (BENCHMARKS.md:
    the client to meet these first costs would pay them alone when two take turns). Without
    `bodies`, one DescribeImages builds the EC2 backend before the reset."""
    with Moto(binary, cores.server) as m:
        text = Path(bodies).read_text() if bodies else ""
        for body in text.splitlines()[:WARM_BODIES] or [DESCRIBE]:
            moto_call(m.url, body)
        m.reset()
        if bodies:
            named = {urllib.parse.unquote_plus(v) for v in re.findall(r"(?:^|&)SourceRegion=([^&\n]*)", text, re.M)}
            for region in sorted({r for r in named if re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]", r)} | {"us-east-1"}):
                moto_call(m.url, DESCRIBE, region)
        yield m


def moto_call(url, body, region="us-east-1"):
    """One request to moto, signed in shape only for `region` (moto routes by the credential
    scope and checks no signature), its answer read and dropped."""
    auth = (
        f"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/{region}/ec2/aws4_request, "
        "SignedHeaders=host, Signature=" + "0" * 64
    )
    headers = {"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=body.encode(), headers=headers), timeout=60).read()
    except urllib.error.HTTPError:
        pass  # an error answer is an answer
    except OSError as e:
        fail(f"moto at {url} did not answer while warming up: {e}")


def wrk_held(stack, url, c, bodies, cores, threads, counted=None):
    """wrk replaying `bodies` at concurrency `c` in `threads` threads (one sends them in the
    harness's order), held for turns, counting its answers in `counted` when given
    (replay.lua); ended when `stack` closes."""
    env = dict(os.environ, BODIES=str(bodies))
    if counted is not None:
        counted.unlink(missing_ok=True)
        env["COUNT_FILE"] = str(counted)
    return held(stack, wrk_command(url, c, 3600, threads), cores, env)


def held(stack, cmd, cores, env=None):
    """`cmd` started stopped on the client CPUs (turns.Held), killed when `stack` closes."""
    try:
        h = turns.Held(cmd, pinned(cores.client), env)
    except turns.Failed as e:
        fail(str(e))
    stack.callback(h.kill)
    return h


def wrk_finished(w):
    """Lets a held wrk finish and gives the answers its summary counts. wrk's main thread
    sleeps out the whole duration, and only a SIGINT that thread takes cuts it short (one its
    worker takes stops the workers alone), so SIGINT is sent until it ends. Fails the
    comparison if wrk met socket errors on more than 1 % of its requests."""
    try:
        _, out, _ = w.finish(interrupt=True)
    except turns.Failed as e:
        fail(str(e))
    return wrk_requests(out)[0]


def wrk_rate(w, counted):
    """A held wrk's answers per second of its turns; it is then let finish (`wrk_finished`).
    Fails the comparison if the count it left while stopped is not between 1 and the count it
    gives when it ends, later."""
    answered = int(counted.read_text() or 0) if counted.exists() else 0
    requests = wrk_finished(w)
    if not 0 < answered <= requests:
        fail(f"wrk counted {answered} answers in its turns and {requests} in all")
    return answered / w.ran


def in_turns(a, b, a_first, seconds=None, meter=None):
    """turns.take_turns, its failures failing the comparison."""
    try:
        turns.take_turns(a, b, a_first, TURNS_LIMIT, seconds, meter)
    except turns.Failed as e:
        fail(str(e))


# No measurement in turns takes a minute here; one still running after this long has hung.
TURNS_LIMIT = 600


def moto_in_turns(binary, m, c, cases, bodies, tmp, cores, harness_first):
    """The harness (`run --cases cases`) and wrk taking turns on moto `m`: both rates, moto's
    CPU % over each client's turns (its clock ticks: moto's threads come and go, so their
    nanoseconds cannot be summed as `serve`'s are), the harness's own CPU % and CPU per
    request, and the seconds it ran."""
    out, timing, counted = Path(tmp) / "report.txt", Path(tmp) / "time.txt", Path(tmp) / "wrk.count"
    cmd = [binary, "run", "--endpoint", m.url, "--cases", cases, "--concurrency", c, "--quiet", *MOTO_ARGS]
    with contextlib.ExitStack() as stack:
        w = wrk_held(stack, m.url, c, bodies, cores, 1, counted)
        h = held(stack, under_time([*cmd, "--output", out], timing), cores)
        in_turns(h, w, harness_first, meter=lambda: cpu_split(m.pid))
        wrk_rps = wrk_rate(w, counted)
        code, _, err = h.finish()
    check_exit(cmd, code, err, ok=(0, 1))
    requests = requests_in(out, cmd)
    user, system, _ = gnu_time_split(timing, binary)
    return {
        "harness": requests / h.ran,
        "wrk": wrk_rps,
        "server": sum(h.metered) / h.ran * 100,
        "wrk_server": sum(w.metered) / w.ran * 100,
        "harness_cpu": (user + system) / h.ran * 100,
        "us": (user + system) / requests * 1e6,
        "seconds": h.ran,
    }


def wrk_against_wrk(m, c, seconds, bodies, tmp, cores, first):
    """Two wrks taking turns on moto `m` for `seconds` each: the method's own error (two of the
    same client), as the first wrk's rate over the second's (the first takes the first turn when
    `first`)."""
    with contextlib.ExitStack() as stack:
        counts = [Path(tmp) / "wrk-a.count", Path(tmp) / "wrk-b.count"]
        a, b = (wrk_held(stack, m.url, c, bodies, cores, 1, path) for path in counts)
        in_turns(a, b, first, seconds)
        return wrk_rate(a, counts[0]) / wrk_rate(b, counts[1])


def against_moto(binary, mode, tmp, results, cores):
    """The harness against wrk on moto, taking turns (`mode.moto_reps` runs at each
    concurrency), a boto3 loop beside them, wrk against wrk for the method's own error, then
    the steady stand-in with the bodies recorded here."""
    bodies = Path(tmp) / "moto-bodies.txt"
    with fresh_moto(binary, cores) as m:
        # A quarter more than the longest harness run sends, so that wrk, running as long as
        # the harness did, seldom starts the list again (a body sent twice meets its own copy).
        n = record_bodies(binary, m.url, max(mode.moto_cases.values()) * 5 // 4, bodies, tmp, MOTO_ARGS)
    print(f"  recorded {n} bodies from a harness run against moto", flush=True)
    ran = {}
    for rep in range(mode.moto_reps):
        for c, cases in mode.moto_cases.items():
            # As many runs with each client taking the first turn.
            first = rep % 2 == 0
            with fresh_moto(binary, cores, bodies) as m:
                t = moto_in_turns(binary, m, c, cases, bodies, tmp, cores, first)
            print(
                f"  moto C={c} #{rep + 1} (in turns, {'harness' if first else 'wrk'} first): harness "
                f"{t['harness']:.0f} req/s, wrk {t['wrk']:.0f} req/s; moto at {t['server']:.0f} % CPU under the "
                f"harness (at {t['harness_cpu']:.0f} %), {t['wrk_server']:.0f} % under wrk",
                flush=True,
            )
            ran.setdefault(c, []).append(t["seconds"])
            add_pair(
                results,
                "moto",
                c,
                {"rps": t["harness"]},
                {"rps": t["wrk"]},
                server_cpu=t["server"],
                wrk_server_cpu=t["wrk_server"],
                harness_cpu=t["harness_cpu"],
                harness_us=t["us"],
            )
            if c == 1:
                seconds = max(1.0, t["seconds"])
                with fresh_moto(binary, cores, bodies) as m:
                    loop = [m.python, ROOT / "bench" / "boto3_loop.py", m.url, bodies, f"{seconds:.1f}"]
                    b = json.loads(timed(loop, tmp, cpus=cores.client).stdout)
                print(f"  moto boto3 loop #{rep + 1}: {b['requests'] / b['seconds']:.0f} req/s", flush=True)
                results.add("moto.boto3", b["requests"] / b["seconds"])
    for c in mode.moto_cases:
        for rep in range(mode.calibration_reps):
            with fresh_moto(binary, cores, bodies) as m:
                ratio = wrk_against_wrk(m, c, statistics.median(ran[c]), bodies, tmp, cores, rep % 2 == 0)
            print(f"  moto C={c}, wrk against wrk in turns #{rep + 1}: {ratio:.3f}x", flush=True)
            results.add(f"moto.c{c}.calibration", ratio)
    # The bodies recorded against moto, so that wrk sends requests of the same sizes.
    against_steady(binary, mode, tmp, results, cores, bodies)


def against_steady(binary, mode, tmp, results, cores, bodies):
    """The harness and wrk against the steady stand-in, in pairs: what moto's wandering pace
    hides, whether a client keeps a server of moto's kind waiting."""
    for c, cases in mode.steady_cases.items():

        def run_harness():
            with steady_stand_in(cores.server) as s:
                return harness(binary, s.url, cases, c, tmp, s.pid, cores, ["--shrink-budget", 0])

        def run_wrk(seconds):
            with steady_stand_in(cores.server) as s:
                return wrk(s.url, c, max(1, round(seconds)), bodies, tmp, s.pid, cores, threads=1)

        walls = {}
        for rep in range(mode.steady_reps):
            h, w, order = pair(rep, c, walls, run_harness, run_wrk)
            print(f"  steady C={c} #{rep + 1} ({order}): harness {h['rps']:.0f} req/s, wrk {w['rps']:.0f} req/s", flush=True)
            add_pair(results, "steady", c, h, w)


def memory_and_speed(binary, mode, tmp, results, _cores):
    """One process each (the embedded endpoint runs inside the harness): on every CPU."""
    out = Path(tmp) / "report.txt"
    for cases in mode.memory_cases:
        # A million cases take about a minute: measured once; the smaller sizes `reps` times.
        for _ in range(1 if cases >= 1_000_000 else mode.reps):
            p = timed([binary, "run", "--cases", cases, "--quiet", "--output", out], tmp)
            print(f"  run --cases {cases}: {p.rss_mb:.0f} MB peak, {p.wall:.1f} s", flush=True)
            results.add(f"memory.{cases}.mb", p.rss_mb)
            results.add(f"memory.{cases}.us_per_case", p.wall / cases * 1e6)
    merge_memory(binary, mode, tmp, results)
    for _ in range(mode.reps):
        p = timed([binary, "bench", "--seconds", mode.bench_seconds], tmp)
        m = re.search(r"= (\d+) cases/s", p.stdout)
        if not m:
            fail(f"`bench` printed no rate:\n{p.stdout}")
        # Cases per second of the thread's own CPU time (Linux tells it; elsewhere the wall
        # clock's rate stands in): what one core does, whatever else the machine runs.
        cpu = re.search(r"= (\d+) cases per CPU-second", p.stdout)
        rate = int(cpu.group(1)) if cpu else int(m.group(1))
        print(f"  bench: {rate} cases per CPU-second ({int(m.group(1))} cases/s of wall time)", flush=True)
        results.add("bench", rate)
        results.add("bench.wall", int(m.group(1)))
    for n in mode.stateful:
        for _ in range(mode.reps):
            p = timed([binary, "run", "--cases", 1, "--stateful", n, "--quiet", "--output", out], tmp)
            print(f"  run --stateful {n}: {p.wall:.1f} s", flush=True)
            results.add(f"stateful.{n}", n / p.wall)


def merge_memory(binary, mode, tmp, results):
    """`merge` of the two shards' JSON reports of a run of the second memory size: its peak
    memory writing a markdown report and a JSON one (which holds every case record)."""
    cases = mode.memory_cases[-2]
    shards = [Path(tmp) / f"shard-{k}.json" for k in (1, 2)]
    for k, shard in enumerate(shards, 1):
        timed([binary, "run", "--cases", cases, "--partition", f"{k}/2", "--format", "json", "--quiet", "--output", shard], tmp)
    results.add("merge.report_mb", sum(s.stat().st_size for s in shards) / 1e6)
    for fmt in ("markdown", "json"):
        p = timed([binary, "merge", *shards, "--format", fmt, "--output", Path(tmp) / f"merged.{fmt}"], tmp)
        print(f"  merge of 2 shards of {cases} cases, --format {fmt}: {p.rss_mb:.0f} MB peak, {p.wall:.1f} s", flush=True)
        results.add(f"merge.{fmt}.mb", p.rss_mb)
    for path in [*shards, Path(tmp) / "merged.json"]:
        path.unlink()


def machine():
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in line),
        "unknown",
    )
    mem = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)) // (1024 * 1024)
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True, text=True)
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("[")[0].strip()
    return {
        # The CPUs this comparison may use, which `Cores` splits (not the machine's count when
        # it runs under taskset).
        "cores": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "memory_gb": mem,
        "kernel": os.uname().release,
        "commit": commit.stdout.strip() or "unknown",
        "wrk": wrk_version or "wrk",
    }


def load():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def verdict(ok):
    return "met" if ok else "**missed**"


def linear(cost_small, cost_large):
    """Whether the cost per unit (a case, a sequence) at the larger size stays within 1.5x of
    the cost at the smaller one."""
    return cost_large <= 1.5 * cost_small


def calibration_row(results, name, shown_as, cases):
    """The table's row of wrk against wrk in turns on the server whose figures are under `name`
    (`shown_as` in the table), at each concurrency of `cases`: not in bold and with no goal, how
    far apart two of the same client come out."""
    return (
        f"wrk vs wrk on {shown_as}, taking turns (the method's own error), C=" + "/".join(map(str, cases)),
        " / ".join(", ".join(f"{v:.2f}x" for v in results.figures[f"{name}.c{c}.calibration"]) for c in cases),
        "",
        "",
    )


def render(results, mode, info, cores, command, build, load_before, load_after):
    r = results.median
    mem = mode.memory_cases
    s_small, s_large = mode.stateful
    rows = []
    for c in mode.serve_cases:
        ratio = r(f"serve.c{c}.ratio")
        rows.append(
            (
                f"harness vs wrk on `serve`, taking turns, C={c}",
                f"{r(f'serve.c{c}.harness'):,.0f} vs {r(f'serve.c{c}.wrk'):,.0f} req/s = **{ratio:.2f}x**",
                ">= 0.8x",
                verdict(ratio >= 0.8),
            )
        )
    rows.append(calibration_row(results, "serve", "`serve`", mode.serve_cases))
    top = max(mode.serve_cases)
    shared = f"serve.shared.c{top}"
    if f"{shared}.ratio" in results.figures:
        rows.append(
            # Not in bold: the bold ratios are the goals' (the headline repeats them).
            (
                f"the same, C={top}, client and `serve` sharing all {info['cores']} CPUs, taking turns (reference)",
                f"{r(f'{shared}.harness'):,.0f} vs {r(f'{shared}.wrk'):,.0f} req/s = {r(f'{shared}.ratio'):.2f}x; "
                f"harness {r(f'{shared}.harness_us'):.0f} µs CPU per request (wrk {r(f'{shared}.wrk_us'):.0f})",
                "",
                "",
            )
        )
    harness_cpu, server_cpu = r(f"serve.c{top}.harness_cpu"), r(f"serve.c{top}.server_cpu")

    def parts(who):
        return f"{r(f'serve.c{top}.{who}_user_us'):.1f} + {r(f'serve.c{top}.{who}_kernel_us'):.1f} µs"

    def per_request(who):
        return r(f"serve.c{top}.{who}_user_us") + r(f"serve.c{top}.{who}_kernel_us")

    # How far the goal is: the CPU per request the harness spends beyond `serve`, as a share of
    # its user time (the kernel's shares are close; see BENCHMARKS.md).
    beyond = per_request("harness") - per_request("harness_server")
    short = (
        f"; the harness spends {beyond:.1f} µs a request more than `serve`, "
        f"{beyond / r(f'serve.c{top}.harness_user_us') * 100:.0f} % of its user time"
        if server_cpu < harness_cpu and beyond > 0
        else ""
    )
    # The same reading of wrk's turns: whether the raw load tool itself makes `serve` the busier
    # side, which says what the goal asks of the harness on this machine.
    wrk_cpu, wrk_server_cpu = r(f"serve.c{top}.wrk_cpu"), r(f"serve.c{top}.wrk_server_cpu")
    under_wrk = (
        "by the same reading wrk makes `serve` the busier side"
        if wrk_server_cpu >= wrk_cpu
        else f"by the same reading wrk does not make `serve` the busier side either ({wrk_cpu:.1f} % against {wrk_server_cpu:.1f} %)"
    )

    rows.append(
        (
            f"who saturates at C={top} (CPU, 100 % = one core)",
            f"harness {harness_cpu:.0f} %, serve {server_cpu:.0f} %; under wrk: wrk "
            f"{wrk_cpu:.0f} %, serve {wrk_server_cpu:.0f} % ({cores.describe()}); "
            f"CPU per request, user + kernel: harness {parts('harness')}, serve {parts('harness_server')}; "
            f"wrk {parts('wrk')}, serve {parts('wrk_server')}{short}; {under_wrk}",
            "the endpoint",
            # The endpoint saturates when it is the busier side of the two.
            verdict(server_cpu >= harness_cpu),
        )
    )
    us = [r(f"serve.c{c}.harness_us") for c in mode.serve_cases]
    wrk_us = [r(f"serve.c{c}.wrk_us") for c in mode.serve_cases]
    rows.append(
        (
            "client CPU per request, C=" + "/".join(map(str, mode.serve_cases)),
            "harness " + " / ".join(f"{u:.0f}" for u in us) + " µs (wrk " + " / ".join(f"{u:.0f}" for u in wrk_us) + " µs)",
            "<= 60 µs",
            verdict(max(us) <= 60),
        )
    )
    rows.append(
        (
            "peak memory, `run --cases " + "/".join(f"{n:,}" for n in mem) + "` (embedded)",
            " / ".join(f"{r(f'memory.{n}.mb'):.0f} MB" for n in mem)
            + "; "
            + " / ".join(f"{r(f'memory.{n}.us_per_case'):.1f}" for n in mem)
            + " µs per case",
            f"< 100 MB at {mem[-1]:,}, time linear",
            verdict(
                r(f"memory.{mem[-1]}.mb") < 100
                and linear(r(f"memory.{mem[-2]}.us_per_case"), r(f"memory.{mem[-1]}.us_per_case"))
            ),
        )
    )
    rows.append(
        (
            f"peak memory, `merge` of the 2 shards' JSON reports of a {mem[-2]:,}-case run "
            f"({r('merge.report_mb'):,.0f} MB in all; reference)",
            f"{r('merge.markdown.mb'):.0f} MB writing markdown, {r('merge.json.mb'):.0f} MB writing JSON "
            "(every case record)",
            "",
            "",
        )
    )
    rows.append(
        (
            "`bench` (generate+predict, one thread)",
            f"{r('bench'):,.0f} cases per CPU-second ({r('bench.wall'):,.0f} per second of wall time)",
            ">= 250,000",
            verdict(r("bench") >= 250_000),
        )
    )
    rows.append(
        (
            f"`run --stateful {s_small}` / `{s_large}` (embedded)",
            f"{r(f'stateful.{s_small}'):,.0f} / {r(f'stateful.{s_large}'):,.0f} sequences/s",
            "linear",
            verdict(linear(1 / r(f"stateful.{s_small}"), 1 / r(f"stateful.{s_large}"))),
        )
    )
    for c in mode.moto_cases:
        ratio = r(f"moto.c{c}.ratio")
        boto = f"; boto3 loop {r('moto.boto3'):,.0f} req/s" if c == 1 else ""
        rows.append(
            (
                f"harness vs wrk on moto 5.2.5, taking turns, C={c}",
                f"{r(f'moto.c{c}.harness'):,.0f} vs {r(f'moto.c{c}.wrk'):,.0f} req/s = **{ratio:.2f}x**{boto}",
                ">= 0.95x",
                verdict(ratio >= 0.95),
            )
        )
    rows.append(calibration_row(results, "moto", "moto", mode.moto_cases))
    rows.append(
        (
            # Not in bold, no goal: a reference for the moto rows (see BENCHMARKS.md).
            "harness vs wrk on a steady stand-in for moto (`bench/steady_server.py`: 5 ms a request, "
            "one request per connection), C=" + "/".join(map(str, mode.steady_cases)),
            " / ".join(
                f"{r(f'steady.c{c}.harness'):,.0f} vs {r(f'steady.c{c}.wrk'):,.0f} req/s = {r(f'steady.c{c}.ratio'):.2f}x"
                for c in mode.steady_cases
            ),
            "",
            "",
        )
    )
    rows.append(
        (
            "who saturates against moto, C=" + "/".join(map(str, mode.moto_cases))
            + " (CPU over each client's turns, 100 % = one core; reference)",
            "moto "
            + " / ".join(f"{r(f'moto.c{c}.server_cpu'):.0f} %" for c in mode.moto_cases)
            + " under the harness, "
            + " / ".join(f"{r(f'moto.c{c}.wrk_server_cpu'):.0f} %" for c in mode.moto_cases)
            + " under wrk; the harness "
            + " / ".join(f"{r(f'moto.c{c}.harness_cpu'):.0f} %" for c in mode.moto_cases)
            + ", "
            + " / ".join(f"{r(f'moto.c{c}.harness_us'):.0f}" for c in mode.moto_cases)
            + " µs CPU per request",
            "",
            "",
        )
    )
    once = f"; {mem[-1]:,} cases once" if mem[-1] >= 1_000_000 else ""
    table = [
        f"| what | measured (median of {mode.reps}; of {mode.serve_reps} runs in turns against `serve`, {mode.moto_reps} against moto, "
        f"{mode.steady_reps} pairs against the stand-in{once}) | goal | |",
        "|---|---|---|---|",
    ]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    serve_ratios = "/".join(f"{r(f'serve.c{c}.ratio'):.2f}" for c in mode.serve_cases)
    moto_ratios = "/".join(f"{r(f'moto.c{c}.ratio'):.2f}" for c in mode.moto_cases)
    placed = ""
    if cores.client is not None:
        placed = " (client and endpoint on a core each"
        if f"{shared}.ratio" in results.figures:
            placed += f"; {r(f'{shared}.ratio'):.2f}x at C={top} when they share both"
        placed += ")"
    met = sum(1 for row in rows if row[3] == "met")
    goals = sum(1 for row in rows if row[3])
    headline = (
        f"The harness sends **{serve_ratios}x** the requests per second wrk sends to `serve` with the same "
        f"bodies at concurrency {'/'.join(map(str, mode.serve_cases))}{placed}, and **{moto_ratios}x** wrk's against "
        f"moto 5.2.5 at concurrency {'/'.join(map(str, mode.moto_cases))}, the two taking turns on one server; it peaks at "
        f"**{r(f'memory.{mem[-1]}.mb'):.0f} MB** for {mem[-1]:,} cases and generates and predicts "
        f"**{r('bench'):,.0f} cases per CPU-second** on one thread; {met} of {goals} goals met "
        f"([BENCHMARKS.md](BENCHMARKS.md): {info['cores']} cores, load {load_before} at the start, "
        f"{build}, `{command}`)."
    )
    machine_lines = [
        f"- machine: {info['cores']} cores ({info['cpu']}), {info['memory_gb']} GB, Linux {info['kernel']}",
        f"- load average (1/5/15 min): {load_before} at the start, {load_after} at the end",
        f"- placement against `serve` and moto: {cores.describe()} (`sched_setaffinity`); the "
        "embedded runs and `bench` on every CPU",
        f"- commit: {info['commit']}; {info['wrk']}; moto 5.2.5 (targets/moto.toml)",
        f"- build: {build}; the harness and `serve` are the same binary",
        f"- command: `{command}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
    ]
    return "\n".join(table), headline, "\n".join(machine_lines)


# The parts of the comparison, in the order they run: heading, function.
PARTS = {
    "serve": ("serve", against_serve),
    "memory": ("embedded runs and bench", memory_and_speed),
    "moto": ("moto", against_moto),
}


def replace_block(path, markers, text):
    content = path.read_text()
    begin, end = markers
    if begin not in content or end not in content:
        fail(f"{path.name} has no {begin} ... {end} block")
    head, rest = content.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{text}\n{end}{tail}")


def shown(values, fmt="{:.2f}"):
    """`values` formatted with `fmt` and their median, for the bench/why_*.py scripts."""
    return ", ".join(fmt.format(v) for v in values) + f" (median {fmt.format(statistics.median(values))})"


def why_args(doc, runs_help):
    """The arguments of a bench/why_*.py script, whose docstring is `doc`: BIN (made absolute),
    `--runs` (even, 2 or more) and `--quick`; with the CPUs split between clients and servers,
    which every such script needs."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--runs", type=int, default=4, help=runs_help)
    ap.add_argument("--quick", action="store_true", help="every step briefly: a smoke run")
    args = ap.parse_args()
    if args.runs < 2 or args.runs % 2:
        fail(f"--runs takes an even number of 2 or more, not {args.runs}")
    args.binary = str(Path(args.binary).resolve())
    cores = Cores.split()
    if cores.server is None:
        fail("one CPU: there is no server CPU to measure apart")
    return args, cores


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--quick", action="store_true", help="one short repetition of everything (a smoke run)")
    ap.add_argument("--write", action="store_true", help="write BENCHMARKS.md and the README headline")
    ap.add_argument("--command", default="bench/compare", help="the command shown with the figures")
    ap.add_argument("--build", default="as given", help="how BIN was built, shown with the figures")
    ap.add_argument(
        "--only",
        choices=PARTS,
        action="append",
        help="measure only this part (repeatable); prints its medians instead of the table",
    )
    args = ap.parse_args()
    # A TERM (a CI timeout) unwinds like an error, so that no server or stopped client is left.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.quick and args.write:
        fail("--quick figures are a smoke run's: they are not written")
    if args.only and args.write:
        fail("--only measures part of the table: it is not written")
    mode = QUICK if args.quick else FULL
    cores = Cores.split()
    info = machine()
    load_before = load()
    results = Results()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        for part in PARTS:
            if not args.only or part in args.only:
                print(f"{PARTS[part][0]}:", flush=True)
                PARTS[part][1](args.binary, mode, tmp, results, cores)
    if args.only:
        for name, values in results.figures.items():
            print(f"{name}: median {results.median(name):,.2f} of {', '.join(f'{v:,.2f}' for v in values)}")
        return
    table, headline, machine_lines = render(results, mode, info, cores, args.command, args.build, load_before, load())
    print(f"\n{table}\n\n{headline}\n\n{machine_lines}\n(measured in {time.monotonic() - started:.0f} s)")
    if args.write:
        replace_block(BENCHMARKS, TABLE, f"{table}\n\n{machine_lines}")
        replace_block(BENCHMARKS, HEADLINE, headline)
        replace_block(README, HEADLINE, headline)
        print("bench/compare: BENCHMARKS.md and the README headline written")


if __name__ == "__main__":
    main()
