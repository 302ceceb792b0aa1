"""GIMP (and the Xvfb it draws on) as the GIMP suites start them, so that a
suite can end all of it and see that nothing is left.

Each program runs in a process group of its own, GIMP under dbus-run-session
(a private session bus, never the user's), and with a mark in its
environment that everything it starts inherits: plug-ins, the bus daemon,
services the bus activates.  Ending a program signals its whole group;
left() finds, by the mark, whatever still runs, even a process that left
the group.  Killing dbus-run-session alone, as the suites once did, left
its dbus-daemon running for good."""
import os
import signal
import subprocess
import time
import uuid

MARK = "CONVNET_TEST_SESSION"


class Session:
    def __init__(self):
        self.mark = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.started = []

    def start(self, args, env, **popen_args):
        """Popen of ARGS in a new process group, its environment ENV plus
        the mark."""
        proc = subprocess.Popen(args, env=dict(env, **{MARK: self.mark}),
                                start_new_session=True, **popen_args)
        self.started.append(proc)
        return proc

    def end(self, proc, seconds=10):
        """Ends PROC's process group: SIGTERM, then SIGKILL after SECONDS."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break  # the group is gone
            deadline = time.time() + seconds
            while time.time() < deadline and group_alive(proc.pid):
                proc.poll()  # reaps the leader
                time.sleep(0.1)
            if not group_alive(proc.pid):
                break
        proc.wait()

    def end_all(self):
        for proc in reversed(self.started):
            self.end(proc)

    def left(self, seconds=5):
        """(pid, command line) of every live process that carries the mark,
        after giving them SECONDS to go."""
        end = time.time() + seconds
        while True:
            found = marked(self.mark)
            if not found or time.time() >= end:
                return found
            time.sleep(0.2)

    def kill_left(self):
        for pid, _ in marked(self.mark):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    # a group of zombies only waits to be reaped
    return any(state(pid) not in ("Z", None) for pid in group_members(pgid))


def group_members(pgid):
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = stat_fields(int(entry))
            if fields and int(fields[2]) == pgid:
                members.append(int(entry))
    return members


def stat_fields(pid):
    """/proc/PID/stat from the state on (state, ppid, pgrp, ...), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def state(pid):
    fields = stat_fields(pid)
    return fields[0] if fields else None


def marked(mark):
    wanted = f"{MARK}={mark}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if wanted not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(
                    errors="replace").strip()
        except OSError:
            continue
        if state(pid) not in ("Z", None):
            found.append((pid, command))
    return found
