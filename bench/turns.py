"""turns.py: two client processes against one server, taking turns of a tenth of a second, so
that both meet the same machine (bench/compare measures `serve` and moto this way; BENCHMARKS.md
says why).

Each client starts stopped (`kill -STOP` in a shell that then execs it) in a session of its
own, and runs only while `Held.run_for` lets it: SIGCONT, then SIGSTOP to its process group. A
client's rate is its requests over the time it was let run.
"""

import os
import select
import signal
import subprocess
import tempfile
import time
from pathlib import Path

# A turn: short enough that the machine's phases (a second and more) fall on both clients.
SLICE = 0.1
# How long a process may take to stop itself at the start, or to end when told to.
PROMPT = 10.0


class Failed(Exception):
    """A client did not do what the turns need of it: stop, run its course, or end."""


def stat_fields(pid):
    """The fields of /proc/PID/stat after the command name: [0] is the state letter (`T` when
    stopped), [11] and [12] the user and system CPU in clock ticks."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


class Held:
    """A client process that starts stopped and runs only in turns; `ran` is the seconds it was
    let run. Its output goes to files, so that a client with much to say never blocks on a full
    pipe while it is let run."""

    def __init__(self, cmd, preexec, env=None):
        self.cmd = [str(a) for a in cmd]
        self.out = tempfile.TemporaryFile("w+")
        self.err = tempfile.TemporaryFile("w+")
        self.pidfd = None
        self.ran = 0.0
        # What a meter (see `run_for`) counted over this client's turns, summed.
        self.metered = None
        self.exited = False
        self.proc = subprocess.Popen(
            ["sh", "-c", 'kill -STOP $$; exec "$@"', "sh", *self.cmd],
            stdout=self.out,
            stderr=self.err,
            env=env,
            start_new_session=True,
            preexec_fn=preexec,
        )
        self.pidfd = os.pidfd_open(self.proc.pid)
        deadline = time.monotonic() + PROMPT
        while stat_fields(self.proc.pid)[0] != "T":
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise Failed(f"`{self.cmd[0]}` did not stop at its start")
            time.sleep(0.001)

    def run_for(self, seconds, meter=None):
        """Lets the client run for `seconds`, or until it exits; adds the time to `ran`. Given
        `meter`, a function returning a tuple of numbers (a server's CPU so far), adds what it
        rose by over the turn to `metered`."""
        before = meter() if meter else None
        start = time.monotonic()
        self.signal(signal.SIGCONT)
        self.exited = bool(select.select([self.pidfd], [], [], max(0.0, seconds))[0])
        if not self.exited:
            self.signal(signal.SIGSTOP)
        self.ran += time.monotonic() - start
        if meter:
            rose = [after - b for after, b in zip(meter(), before)]
            self.metered = rose if self.metered is None else [m + r for m, r in zip(self.metered, rose)]

    def leaf(self):
        """The process at the end of the chain the shell started (the client, under whatever
        launched it), or None once it has gone."""
        pid = self.proc.pid
        try:
            while kids := Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
                pid = int(kids[0])
        except FileNotFoundError:
            return None
        return pid

    def finish(self, interrupt=False):
        """Lets the client run until it exits (sending SIGINT to its leaf process every 0.2 s
        until then, when `interrupt`); its exit code, stdout and stderr. Raises `Failed` if it
        has not ended after `PROMPT` seconds."""
        self.signal(signal.SIGCONT)
        deadline = time.monotonic() + PROMPT
        while self.proc.poll() is None:
            leaf = self.leaf() if interrupt else None
            if leaf is not None:
                try:
                    os.kill(leaf, signal.SIGINT)
                except ProcessLookupError:
                    pass
            try:
                self.proc.wait(timeout=0.2 if interrupt else PROMPT)
            except subprocess.TimeoutExpired:
                if time.monotonic() > deadline:
                    self.kill()
                    raise Failed(f"`{self.cmd[0]}` did not end within {PROMPT:.0f} s") from None
        return self.proc.returncode, *self.output()

    def output(self):
        """What the client has written to stdout and stderr so far."""
        texts = []
        for f in (self.out, self.err):
            f.seek(0)
            texts.append(f.read())
        return texts

    def signal(self, number):
        """Sends `number` to the client's process group, if any of it is left."""
        try:
            os.killpg(self.proc.pid, number)
        except ProcessLookupError:
            pass

    def kill(self):
        """Ends the client if it is still there (what a failed measurement leaves behind)."""
        if self.proc.poll() is None:
            self.signal(signal.SIGKILL)
        self.proc.wait()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


def take_turns(a, b, a_first, limit, seconds=None, meter=None):
    """Gives `a` and `b` turns of `SLICE`, `a` first when `a_first`, until `a` exits or, given
    `seconds`, has run that long; then lets `b` run until it has run as long as `a` (when it
    went first, it has had as many turns as `a`, whose last was cut short, and keeps what it ran
    beyond). Given `meter`, each client's `metered` sums it over its turns (`Held.run_for`).
    Raises `Failed` when `b` exits, which it must not, or when `limit` seconds of turns have
    passed."""
    start = time.monotonic()
    turn = a if a_first else b
    while not a.exited and (seconds is None or a.ran < seconds):
        if time.monotonic() - start > limit:
            raise Failed(f"`{a.cmd[0]}` still running after {limit:.0f} s of turns")
        turn.run_for(SLICE, meter)
        if b.exited:
            raise Failed(f"`{b.cmd[0]}` exited in its turn: {b.output()[1][-2000:]}")
        turn = b if turn is a else a
    if b.ran < a.ran:
        b.run_for(a.ran - b.ran, meter)
