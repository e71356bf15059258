"""turns.py: two clients against one server, taking turns of a tenth of a second, so that both
meet the same machine (bench/compare uses it against moto).

Why: on the benchmark machine, a CPU's speed wanders by 15-20 % from one second to the next
(a Python loop pinned to one CPU did 7.6k to 13.3k rounds in 2-second windows, 2026-11-27),
so two runs of ten seconds back to back, each on a fresh moto, differed by 15 % and more
however alike the clients (a pair of the same wrk twice did too). Taking turns of 0.1 s, the
two clients each run in every second of the measurement, and the machine's phases fall on
both alike: the same wrk against itself came out at 0.99-1.02x (four runs at C=1).

How: each client starts stopped (`kill -STOP` in a shell that then execs it) in a session of
its own, and only runs while `Held.run_for` lets it: SIGCONT, then SIGSTOP to its process
group. A client's rate is its requests over the time it was let run. What a client stopped
mid-request had in flight is answered during the other's turn and read at its next one; with
the turns alternating that falls on both alike. wrk counts its responses itself (replay.lua
writes the count to COUNT_FILE after each), so it can be read at the moment wrk is stopped.
"""

import os
import select
import signal
import subprocess
import time
from pathlib import Path

# A turn: short enough that the machine's phases (a second and more) fall on both clients, long
# enough that the requests in flight at a switch (up to C of the ~25 moto answers in a tenth of
# a second) are a small part of a turn's.
SLICE = 0.1


def state(pid):
    """A process's state letter from /proc (`T` when stopped)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


class Held:
    """A client process that starts stopped and runs only in turns; `ran` is the seconds it was
    let run."""

    def __init__(self, cmd, preexec, env=None):
        self.proc = subprocess.Popen(
            ["sh", "-c", 'kill -STOP $$; exec "$@"', "sh", *map(str, cmd)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
            preexec_fn=preexec,
        )
        while state(self.proc.pid) != "T":
            time.sleep(0.001)
        self.pidfd = os.pidfd_open(self.proc.pid)
        self.ran = 0.0
        self.exited = False

    def run_for(self, seconds):
        """Lets the client run for `seconds`, or until it exits; adds the time to `ran`."""
        start = time.monotonic()
        os.killpg(self.proc.pid, signal.SIGCONT)
        self.exited = bool(select.select([self.pidfd], [], [], max(0.0, seconds))[0])
        if not self.exited:
            os.killpg(self.proc.pid, signal.SIGSTOP)
        self.ran += time.monotonic() - start

    def finish(self):
        """Waits for the client to exit by itself (it is let run); its stdout and stderr."""
        self.signal(signal.SIGCONT)
        return self.proc.communicate()

    def signal(self, number):
        """Sends `number` to the client's process group, if any of it is left."""
        try:
            os.killpg(self.proc.pid, number)
        except ProcessLookupError:
            pass

    def interrupt(self):
        """Lets the client run and sends SIGINT to the process the shell started under it (wrk,
        under GNU time, which ignores SIGINT while it waits) until it exits: wrk's main thread
        sleeps out the duration, and a SIGINT one of its worker threads takes stops the workers
        but not that sleep. Its stdout and stderr."""
        self.signal(signal.SIGCONT)
        leaf = self.proc.pid
        try:
            while kids := Path(f"/proc/{leaf}/task/{leaf}/children").read_text().split():
                leaf = int(kids[0])
            while self.proc.poll() is None:
                os.kill(leaf, signal.SIGINT)
                try:
                    self.proc.wait(timeout=0.2)
                except subprocess.TimeoutExpired:
                    pass
        except (FileNotFoundError, ProcessLookupError):
            pass  # it has exited meanwhile
        return self.finish()

    def kill(self):
        """Ends the client if it is still there (what a failed measurement leaves behind)."""
        if self.proc.poll() is None:
            self.signal(signal.SIGKILL)
        self.proc.wait()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


# No measurement here takes more than a minute; a client that is still running after this
# long has hung.
LIMIT = 900


class Hung(Exception):
    """A client ran `LIMIT` seconds in turns without ending."""


def take_turns(a, b, a_first, seconds=None):
    """Gives `a` and `b` turns of `SLICE`, `a` first when `a_first`, until `a` exits or, given
    `seconds`, has run that long; then lets `b` run until it has run as long as `a` (when it
    went first it has had one turn more, and keeps it). Raises `Hung` after `LIMIT` seconds."""
    turn = a if a_first else b
    while not a.exited and (seconds is None or a.ran < seconds):
        if a.ran > LIMIT:
            raise Hung(f"still running after {LIMIT} s of turns")
        turn.run_for(SLICE)
        turn = b if turn is a else a
    if b.ran < a.ran:
        b.run_for(a.ran - b.ran)


def count(path):
    """The response count replay.lua left in `path` (0 when wrk has had no answer yet)."""
    try:
        return int(Path(path).read_text() or 0)
    except FileNotFoundError:
        return 0
