#!/usr/bin/env python3
"""Terminal measures of the Paraphe benchmark suite (bench/run drives this).

first-screen: row 4 — start to first screen drawn. Spawns `paraphe wizard --data-dir D` in a
    pseudo-terminal of 80x24 (TIOCSWINSZ set on the child's side before exec, so the size is there
    from the start), times from just before the fork until the bytes written to the terminal
    contain the step-1 header ("Step 1 of 5"), then sends SIGTERM and waits for the wizard to
    restore the terminal and exit. The same, alternated run by run in the same pty setup, for
    `paraphe --version` of the same binary until its version shows (the process floor: the
    program's own start-up, with nothing drawn). Repeats N times; prints one JSON line with both
    sets of samples (ms). (The comparison with `dialog --msgbox` is retired: a Swift program's
    runtime start-up alone exceeds dialog's whole first screen here.)

session: row 7 (wizard half) — peak RSS of a whole wizard session. Runs the wizard in tmux
    (80x24) and drives it like a person through all five steps to the summary: link, answers,
    components, reference number and password, "Download and Activate", log in. Reads VmHWM from
    /proc/PID/status before ending the session with SIGTERM. Prints one JSON line.
"""

import json
import os
import re
import select
import shlex
import signal
import statistics
import struct
import subprocess
import sys
import time

ESCAPES = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78MDEcH])")


def strip(data: bytes) -> bytes:
    return ESCAPES.sub(b"", data)


def first_screen_once(argv, env, marker: bytes, timeout: float):
    import fcntl
    import pty
    import termios

    start = time.perf_counter_ns()
    pid, fd = pty.fork()
    if pid == 0:
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    buffer = b""
    elapsed = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        buffer += chunk
        if marker in strip(buffer):
            elapsed = (time.perf_counter_ns() - start) / 1e6
            break
    # End the session as a person's SIGTERM would; drain until the wizard has restored the terminal and exited.
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    end = time.monotonic() + 5
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                if not os.read(fd, 65536):
                    break
            except OSError:
                break
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    os.close(fd)
    if elapsed is None:
        tail = strip(buffer)[-400:].decode("utf-8", "replace")
        raise SystemExit(f"first-screen: no {marker!r} within {timeout} s; screen so far: {tail!r}")
    return elapsed


def first_screen(args):
    paraphe, data, runs = args.paraphe, args.data_dir, args.runs
    env = dict(os.environ, TERM="xterm-256color", LANG="C.UTF-8", LC_ALL="C.UTF-8", COLUMNS="80", LINES="24")
    env.pop("NO_COLOR", None)
    argv = [paraphe, "wizard", "--data-dir", data, "--lang", "en"]
    version = subprocess.run([paraphe, "--version"], capture_output=True, text=True, check=True).stdout.strip().encode()
    version_argv = [paraphe, "--version"]
    marker = b"Step 1 of 5"
    first_screen_once(argv, env, marker, 20)  # warm-up: page cache, first-use costs
    first_screen_once(version_argv, env, version, 20)
    samples, floor = [], []
    for _ in range(runs):  # alternated, so both see the same machine noise
        samples.append(first_screen_once(argv, env, marker, 20))
        floor.append(first_screen_once(version_argv, env, version, 20))
    result = {
        "measure": "first-screen",
        "runs": runs,
        "median_ms": round(statistics.median(samples), 2),
        "min_ms": round(min(samples), 2),
        "max_ms": round(max(samples), 2),
        "samples_ms": [round(s, 2) for s in samples],
    }
    result["version_median_ms"] = round(statistics.median(floor), 2)
    result["version_min_ms"] = round(min(floor), 2)
    result["version_samples_ms"] = [round(s, 2) for s in floor]
    result["ratio"] = round(statistics.median(samples) / statistics.median(floor), 3)
    print(json.dumps(result, sort_keys=True))


# --- session (tmux) -------------------------------------------------------------------------------


class Tmux:
    """A tmux server of its own (-L), so other tmux sessions on the machine are never touched."""

    def __init__(self, name):
        self.name = name

    def run(self, *args, check=True):
        return subprocess.run(["tmux", "-L", self.name, "-f", "/dev/null", *args], check=check, capture_output=True, text=True)

    def send(self, *keys):
        self.run("send-keys", "-t", self.name, *keys)

    def type(self, text):
        self.run("send-keys", "-t", self.name, "-l", text)

    def screen(self):
        return self.run("capture-pane", "-p", "-t", self.name, check=False).stdout

    def wait_for(self, text, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.05)
        raise SystemExit(f"session: {text!r} did not appear within {timeout} s; screen:\n{self.screen()}")


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise SystemExit(f"session: no VmHWM for process {pid}")


def session(args):
    work = args.work
    with open(os.path.join(work, "link")) as f:
        link = f.read().strip()
    with open(os.path.join(work, "reference")) as f:
        reference = f.read().strip()
    with open(os.path.join(work, "answers")) as f:
        answers = [line.rstrip("\n") for line in f if line.strip()]
    with open(os.path.join(work, "password")) as f:
        password = f.readline().rstrip("\n")
    name = f"paraphe-bench-{os.getpid()}"
    tmux = Tmux(name)
    # A home of the run's own: the log-in makes the signature available to the applications of the home it runs in.
    home = os.path.join(work, "home")
    os.makedirs(home, mode=0o700, exist_ok=True)
    command = f"exec env TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 HOME={shlex.quote(home)} XDG_CONFIG_HOME= " + " ".join(
        shlex.quote(part)
        for part in shlex.split(args.under) + [args.paraphe, "wizard", "--lang", "en", "--data-dir", args.data_dir, "--profile-dir", os.path.join(work, "profiles")]
    )
    # Under a profiler (scripts/symbol-order runs it under callgrind) every step is many times slower.
    patience = 20 if args.under else 1
    tmux.run("new-session", "-d", "-s", name, "-x", "80", "-y", "24", command)
    try:
        pid = int(tmux.run("display-message", "-p", "-t", name, "#{pane_pid}").stdout.strip())
        tmux.wait_for("Step 1 of 5", timeout=60 * patience)
        tmux.type(link)
        tmux.send("Enter")
        tmux.wait_for("Step 2 of 5", timeout=60 * patience)
        for index, answer in enumerate(answers):
            tmux.type(answer)
            if index < len(answers) - 1:
                tmux.send("Tab")
        tmux.send("Enter")
        tmux.wait_for("Every required component is installed", timeout=60 * patience)
        tmux.send("Enter")
        tmux.wait_for("Step 5 of 5", timeout=60 * patience)
        tmux.type(reference)
        tmux.send("Tab")
        tmux.type(password)
        tmux.send("Tab")
        tmux.type(password)
        tmux.send("Enter")
        tmux.wait_for("Profile written", timeout=120 * patience)
        tmux.type(password)
        tmux.send("Enter")
        tmux.wait_for("Your digital signature is activated", timeout=120 * patience)
        peak = peak_rss_kib(pid)
        if args.under:
            # Let the profiler see the wizard end as it does for a person (F10), and write its output.
            tmux.send("F10")
            deadline = time.monotonic() + 60 * patience
            while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
                time.sleep(0.2)
        else:
            os.kill(pid, signal.SIGTERM)
    finally:
        time.sleep(0.3)
        tmux.run("kill-server", check=False)
    print(json.dumps({"measure": "wizard-session-rss", "peak_rss_kib": peak}, sort_keys=True))


def main():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    first = sub.add_parser("first-screen")
    first.add_argument("--paraphe", required=True)
    first.add_argument("--data-dir", required=True)
    first.add_argument("--runs", type=int, default=20)
    drive = sub.add_parser("session")
    drive.add_argument("--paraphe", required=True)
    drive.add_argument("--data-dir", required=True)
    drive.add_argument("--work", required=True, help="holds link, reference, answers, password and profiles/")
    drive.add_argument("--under", default="", help="a command (and its options) to run the wizard under, e.g. valgrind")
    args = parser.parse_args()
    {"first-screen": first_screen, "session": session}[args.command](args)


if __name__ == "__main__":
    main()
