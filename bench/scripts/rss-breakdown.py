#!/usr/bin/env python3
"""Diagnostic (not a table row): where a command's resident memory is at its peak.

Runs COMMAND, samples /proc/PID/smaps every few milliseconds until it exits, keeps the sample with
the largest total Rss, and prints it grouped by mapping (the executable, each shared library, the
ICU data, heap and anonymous memory, thread stacks), plus VmHWM and the anonymous/file split.

Usage: rss-breakdown.py [--top N] -- COMMAND [ARGS...]
"""

import collections
import os
import subprocess
import sys
import time


def snapshot(pid):
    groups = collections.Counter()
    current = None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                fields = line.split()
                if not fields:
                    continue
                if "-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(":"):
                    name = fields[5] if len(fields) >= 6 else "[anonymous]"
                    current = os.path.basename(name) if name.startswith("/") else name
                elif fields[0] == "Rss:" and current is not None:
                    groups[current] += int(fields[1])
        with open(f"/proc/{pid}/status") as f:
            status = {l.split(":")[0]: l.split(":", 1)[1].strip() for l in f if ":" in l}
    except (OSError, ValueError):
        return None, None
    return groups, status


def main():
    args = sys.argv[1:]
    top = 14
    if args[:1] == ["--top"]:
        top = int(args[1])
        args = args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        raise SystemExit(__doc__)
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    best, best_status, hwm = None, None, "?"
    while process.poll() is None:
        groups, status = snapshot(process.pid)
        if groups is not None:
            hwm = status.get("VmHWM", hwm)
            if best is None or sum(groups.values()) > sum(best.values()):
                best, best_status = groups, status
        time.sleep(0.003)
    if best is None:
        raise SystemExit("no sample (the command ended too fast)")
    total = sum(best.values())
    print(f"command: {' '.join(args)} (exit {process.returncode})")
    print(f"VmHWM {hwm}; at the largest sample: Rss {total} kB = "
          f"RssAnon {best_status.get('RssAnon', '?')} + RssFile {best_status.get('RssFile', '?')}; "
          f"threads {best_status.get('Threads', '?')}")
    for name, kib in best.most_common(top):
        print(f"  {kib:8d} kB  {name}")


if __name__ == "__main__":
    main()
