#!/usr/bin/env python3
"""Builds the results table of bench/run from the JSON files in the results directory, prints it
and writes it (with the date, the machine and the details) to bench/results.md."""

import argparse
import datetime
import glob
import json
import os
import platform
import statistics
import subprocess

MIB = 1024


def load(path):
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])


def hyperfine_times(paths):
    """Pooled run times (seconds) per command name over several hyperfine exports, and per round."""
    pooled, rounds, cpu = {}, [], {}
    for path in sorted(paths, key=lambda p: int(os.path.basename(p).split("-")[-1].split(".")[0])):
        with open(path) as f:
            data = json.load(f)
        medians = {}
        for result in data["results"]:
            pooled.setdefault(result["command"], []).extend(result["times"])
            cpu.setdefault(result["command"], []).extend([result["user"] + result["system"]] * len(result["times"]))
            medians[result["command"]] = statistics.median(result["times"])
        rounds.append(medians)
    return pooled, rounds, {name: statistics.mean(values) for name, values in cpu.items()}


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = "?"
    try:
        with open("/proc/meminfo") as f:
            kib = int(f.readline().split()[1])
            memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {"nproc": os.cpu_count(), "cpu": model, "memory": memory, "kernel": platform.release(), "load": load}


def git(root, *args):
    try:
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def verdict(ok):
    return "pass" if ok else "**miss**"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--results", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--rounds", type=int, default=0)
    parser.add_argument("--per-round", type=int, default=0)
    parser.add_argument("--commit", default="", help="what was measured, when not a git checkout")
    args = parser.parse_args()
    r = args.results

    rows, notes = [], []
    pooled, rounds, cpu = hyperfine_times(glob.glob(os.path.join(r, "activate-[0-9]*.json")))
    act = pooled["paraphe activate"]
    ossl = pooled["openssl pipeline"]
    act_median, ossl_median = statistics.median(act), statistics.median(ossl)
    ratio = act_median / ossl_median
    paired = statistics.median(x["paraphe activate"] / x["openssl pipeline"] for x in rounds)
    rows.append((
        "whole `paraphe activate` vs OpenSSL CLI pipeline (genpkey RSA-2048 + req + x509 -req + pkcs12 -export -iter 600000), alternated",
        "median ratio ≤ 0.6",
        f"{act_median * 1000:.0f} ms / {ossl_median * 1000:.0f} ms = **{ratio:.2f}** (per-round ratios: median {paired:.2f})",
        verdict(ratio <= 0.6),
    ))
    rows.append((
        "`paraphe activate` wall time, RSA-2048, 600,000 iterations",
        "≤ 0.5 s median",
        f"{act_median:.3f} s (min {min(act):.3f}, max {max(act):.3f}, n={len(act)})",
        verdict(act_median <= 0.5),
    ))
    if "activate's floor" in pooled:
        floor = pooled["activate's floor"]
        floor_median = statistics.median(floor)
        rows.append((
            "`paraphe activate` against its floor: the three answer hashes on one thread, the RSA-2048 key and the "
            "profile's two derivations on the other, in a process of its own (`paraphe-bench floor`), alternated in the same runs",
            "≤ 1.2×",
            f"{act_median * 1000:.0f} ms / {floor_median * 1000:.0f} ms = **{act_median / floor_median:.2f}×** "
            f"(floor min {min(floor) * 1000:.0f}, max {max(floor) * 1000:.0f}, n={len(floor)})",
            verdict(act_median / floor_median <= 1.2),
        ))
    notes.append(
        f"Rows 1–2: {len(act)} + {len(ossl)} runs in {len(rounds)} hyperfine rounds whose order alternates; "
        f"OpenSSL pipeline median {ossl_median * 1000:.0f} ms (min {min(ossl) * 1000:.0f}, max {max(ossl) * 1000:.0f}). "
        f"CPU time (user + system, mean): paraphe {cpu['paraphe activate'] * 1000:.0f} ms on 2 cores, "
        f"OpenSSL {cpu['openssl pipeline'] * 1000:.0f} ms (single-threaded): Paraphe does "
        f"{cpu['paraphe activate'] / cpu['openssl pipeline']:.1f}× the work, so its wall time suffers more when the other core is busy."
    )

    with open(os.path.join(r, "verify.json")) as f:
        verify = json.load(f)["results"][0]
    vmed = statistics.median(verify["times"])
    rows.append((
        "profile login (`paraphe profile verify`)",
        "≤ 0.3 s median",
        f"{vmed:.3f} s (min {min(verify['times']):.3f}, n={len(verify['times'])})",
        verdict(vmed <= 0.3),
    ))

    kdf = load(os.path.join(r, "kdf.json"))
    rows.append((
        f"PKCS#12 MAC key derivation (RFC 7292 App. B, {kdf['iterations']:,}) vs PBKDF2-HMAC-SHA256 ({kdf['iterations']:,}), same process, alternated",
        "≤ 1.05×",
        f"{kdf['mac']['p50_ms']:.1f} ms / {kdf['pbkdf2']['p50_ms']:.1f} ms = **{kdf['paired_ratio_median']:.2f}×** "
        f"(median of {kdf['pairs']} paired ratios; ratio of medians {kdf['ratio_of_medians']:.2f})",
        verdict(kdf["paired_ratio_median"] <= 1.05),
    ))
    notes.append(
        f"Row 3b: `paraphe-bench kdf`, one thread, through `ProfileKDF` (the calls `PKCS12.write` makes); paired ratios "
        f"min {kdf['paired_ratio_min']:.2f}, max {kdf['paired_ratio_max']:.2f}; thread CPU time ratio (median) "
        f"{kdf['paired_cpu_ratio_median']:.2f}; App. B max {kdf['mac']['max_ms']:.1f} ms, PBKDF2 max {kdf['pbkdf2']['max_ms']:.1f} ms."
    )

    first = load(os.path.join(r, "first-screen.json"))
    rows.append((
        "start → first screen drawn (release, pty 80×24, `paraphe wizard`), against `paraphe --version` of the same "
        "binary in the same pty (the process floor), alternated",
        "≤ 20 ms median and ≤ 1.5× the floor",
        f"{first['median_ms']:.1f} ms median (min {first['min_ms']:.1f}, max {first['max_ms']:.1f}, n={first['runs']}) "
        f"against {first['version_median_ms']:.1f} ms = **{first['ratio']:.2f}×**",
        verdict(first["median_ms"] <= 20 and first["ratio"] <= 1.5),
    ))

    keys = load(os.path.join(r, "keystroke.json"))
    total = keys["total"]
    rows.append((
        "one keystroke → reduce + render of an 80×24 screen (headless, in process)",
        "≤ 1 ms p99",
        f"p99 {total['p99_ms']:.3f} ms (p50 {total['p50_ms']:.3f}, max {total['max_ms']:.3f}, n={total['n']})",
        verdict(total["p99_ms"] <= 1.0),
    ))
    notes.append(
        f"Row 5: password-field keystrokes (libpwquality live) p99 {keys['password_fields']['p99_ms']:.3f} ms, "
        f"other keystrokes p99 {keys['plain_fields']['p99_ms']:.3f} ms; reduce alone p99 {keys['reduce']['p99_ms']:.3f} ms, "
        f"render alone p99 {keys['render']['p99_ms']:.3f} ms; the warm-up round (first use of the string tables and "
        f"the cracklib dictionary, not counted) max {keys['warmup_round']['max_ms']:.2f} ms."
    )

    reg = load(os.path.join(r, "registry.json"))
    apps = reg["applications"]
    tok, ref, wr = reg["by_token"], reg["by_reference"], reg["attempt_write"]
    rows.append((
        f"registry with {apps:,} applications: lookup by token / by reference number",
        "≤ 1 ms p99",
        f"p99 {tok['p99_ms']:.3f} ms / {ref['p99_ms']:.3f} ms (p50 {tok['p50_ms']:.3f} / {ref['p50_ms']:.3f}, n={tok['n']} each)",
        verdict(tok["p99_ms"] <= 1 and ref["p99_ms"] <= 1),
    ))
    rows.append((
        "registry: failed identity attempt, durable write",
        "≤ 5 ms p99",
        f"p99 {wr['p99_ms']:.3f} ms (p50 {wr['p50_ms']:.3f}, max {wr['max_ms']:.3f}, n={wr['n']})",
        verdict(wr["p99_ms"] <= 5),
    ))
    rows.append((
        "registry: database size",
        "report",
        f"{reg['database_bytes'] / MIB / MIB:.0f} MiB ({reg['database_bytes'] / apps:.0f} bytes per application)",
        "—",
    ))
    seed_path = os.path.join(r, "registry-seed.json")
    seed = f"; seeded in {load(seed_path)['seconds']:.0f} s this run" if os.path.exists(seed_path) else " (seeded earlier, cached in bench/.cache)"
    notes.append("Row 6: " + "; ".join(reg.get("settings", [])) + seed + ".")

    rss_activate = [int(open(p).read().split()[-1]) for p in sorted(glob.glob(os.path.join(r, "activate-rss-*.txt")))]
    wizard = load(os.path.join(r, "wizard-rss.json"))["peak_rss_kib"]
    act_peak = max(rss_activate)
    rows.append((
        "peak RSS: wizard session (all five steps to the summary) / `activate`",
        "≤ 30 MiB",
        f"{wizard / MIB:.1f} MiB / {act_peak / MIB:.1f} MiB",
        verdict(wizard <= 30 * MIB and act_peak <= 30 * MIB),
    ))

    # The fleet's load rows (issue 12), when bench/run measured them.
    identity_path = os.path.join(r, "load-identity.json")
    if os.path.exists(identity_path):
        ident = load(identity_path)
        rows.append((
            "identity checks a second per core, one instance pinned to one core, against the floor (3 × PBKDF2-HMAC-SHA256 at 600,000)",
            "server overhead < 10 %",
            f"{ident['per_core']:.2f}/s against a floor of {ident['floor_per_core']:.2f}/s (PBKDF2 {ident['pbkdf2_ms']:.1f} ms on the server's core): overhead **{ident['overhead'] * 100:.1f} %**",
            verdict(ident["overhead"] < 0.10),
        ))
        if "ratio" in ident:
            rows.append((
                "identity checks: two instances (one core each) on one PostgreSQL database against one",
                "≥ 1.7×",
                f"{ident['postgres_two']:.2f}/s against {ident['postgres_one']:.2f}/s = **{ident['ratio']:.2f}×**",
                verdict(ident["ratio"] >= 1.7),
            ))
    enroll_path = os.path.join(r, "load-enroll.json")
    if os.path.exists(enroll_path):
        enr = load(enroll_path)
        shown = " / ".join(f"{enr[k]:.0f}/s ({k})" for k in ("sqlite", "postgres") if k in enr)
        rows.append((
            "CMP enrollments a second, pre-verified codes (p10cr + certConf, Paraphe's client, 16 at once; load client on the same 2 cores)",
            "≥ 300/s on 2 cores, SQLite and PostgreSQL",
            shown,
            verdict(all(enr[k] >= 300 for k in ("sqlite", "postgres") if k in enr)),
        ))
        if "postgres" in enr:
            rows.append((
                "CMP enrollments a second on PostgreSQL (issue 25: prepared statements, an unchanged row written in one statement)",
                "≥ 600/s",
                f"{enr['postgres']:.0f}/s" + (f" ({enr['sqlite']:.0f}/s on SQLite in the same run)" if "sqlite" in enr else ""),
                verdict(enr["postgres"] >= 600),
            ))
    lookups_path = os.path.join(r, "load-lookups.json")
    if os.path.exists(lookups_path):
        look = load(lookups_path)
        lat = look["latency"]
        rows.append((
            f"overview lookups at {look['rate']}/s offered (open loop), {look['applications']:,} applications in PostgreSQL",
            "≤ 5 ms p99",
            f"p99 {lat['p99_ms']:.2f} ms (p50 {lat['p50_ms']:.2f}, max {lat['max_ms']:.2f}, n={lat['n']}, failures {look['failures']})",
            verdict(lat["p99_ms"] <= 5 and look["failures"] == 0),
        ))

    burst_path = os.path.join(r, "load-burst.json")
    if os.path.exists(burst_path):
        burst = load(burst_path)
        health = burst["health"]
        ended = ", ".join(f"{n} × {code}" for code, n in sorted(burst["outcomes"].items()))
        rows.append((
            f"{burst['checks']} identity checks at once (full-cost answers, one instance): `/health` meanwhile, and how the checks ended",
            "`/health` ≤ 1 s p99; every check answered (200, or 503 busy at once)",
            f"`/health` p99 {health['p99_ms']:.0f} ms (p50 {health['p50_ms']:.0f}, max {health['max_ms']:.0f}, n={health['n']}); checks: {ended}; the last answered after {burst['slowest_s']:.1f} s",
            verdict(health["p99_ms"] <= 1000 and sum(burst["outcomes"].values()) == burst["checks"]
                    and set(burst["outcomes"]) <= {"200", "503"}),
        ))

    provider_path = os.path.join(r, "provider.rows")
    if os.path.exists(provider_path):
        # bench/scripts/provider prints its rows ready: measure|target|result|verdict.
        with open(provider_path) as f:
            rows += [tuple(line.rstrip("\n").split("|", 3)) for line in f if line.count("|") >= 3]

    lines = ["| measure | target | result | pass/miss |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    table = "\n".join(lines)

    phases_path = os.path.join(r, "phases.json")
    phase_lines = []
    if os.path.exists(phases_path):
        phases = load(phases_path)
        phase_lines = ["", f"Where `activate`'s time goes (in process, medians of {phases['runs']} runs; serial phases):", ""]
        phase_lines += ["| phase | median |", "|---|---|"]
        phase_lines += [f"| {k} | {v:.1f} ms |" for k, v in sorted(phases["phases_median_ms"].items())]
        phase_lines += [f"| building block: {k} | {v:.1f} ms (min {phases['blocks_min_ms'][k]:.1f}) |"
                        for k, v in sorted(phases["blocks_median_ms"].items())]

    m = machine()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    commit = args.commit or git(args.root, "rev-parse", "--short", "HEAD") or "unknown (not a git checkout)"
    dirty = ""
    if not args.commit and git(args.root, "status", "--porcelain", "--untracked-files=no"):
        dirty = " (with uncommitted changes)"
    header = [
        "# Paraphe benchmark results",
        "",
        f"Run on {now} by `bench/run`, commit {commit}{dirty}.",
        f"Machine: {m['nproc']} cores, {m['cpu']}, {m['memory']}, Linux {m['kernel']}; load average at the end {m['load']}.",
        "Medians of runs measured side by side in one session; the machine is shared, so expect noise.",
        "",
    ]
    body = header + [table, ""] + ["- " + n for n in notes] + phase_lines + [""]
    with open(args.out, "w") as f:
        f.write("\n".join(body))
    print("\n".join([table, ""] + ["- " + n for n in notes] + phase_lines))
    print(f"\n(written to {args.out})")


if __name__ == "__main__":
    main()
