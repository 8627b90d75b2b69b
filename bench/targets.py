"""Every speed target of the installation in one command: each benchmark under ``bench/`` run in turn, each printing
its own rows with their ratio to the target and the checks of its own results (money totals, numbers, answers).

| path | benchmark | target |
|---|---|---|
| checkout: order -> invoice -> payment -> e-mail | ``checkout.py`` | >= 400 orders/s, <= 8 statements per order |
| collection by the billing run | ``billing_run.py`` | >= 1,000 payments/s; >= 200/s at 300 ms a call |
| API account quote, portal Current Plans | ``api.py`` | 1,500 req/s p99 < 10 ms; 800 req/s p99 < 20 ms, <= 5 SQL |
| ``quote()`` in one process | ``quotes.py`` | >= 50,000 quotes/s |
| billing run, 100,000 subscriptions | ``billing_run.py --workload invoicing`` | >= 10,000/s; 2 processes >= 18,000/s |
| billing run, 1,000,000 subscriptions | the same, with ``--full`` | measured: time, peak RSS flat |
| seat-month-3, N=5,000 | ``billing_run.py --workload seat-month-3`` | one JSON line, comparable with other systems |
| operator dashboard, 1,000,000 invoices | ``dashboard.py`` | read < 200 ms (median, p95); refresh measured |

The benchmarks are run one after another, never together: on a machine with few cores each one's figures are only
worth something alone. Each creates and drops its own PostgreSQL database (the local server, user postgres). A
benchmark that fails its own checks makes this command fail too.

Run: ``.venv/bin/python bench/targets.py [--quick] [--full]``: ``--quick`` takes smaller sizes (a few minutes in
all), ``--full`` adds the 1,000,000-subscription run (the better part of an hour).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def steps(quick: bool, full: bool) -> list[tuple[str, list[str]]]:
    accounts = "400" if quick else "2000"
    return [
        ("quote() in one process", ["quotes.py", "--n", "20000" if quick else "100000"]),
        ("checkout", ["checkout.py", "--n", "200" if quick else "1000"]),
        ("collection", ["billing_run.py", "--accounts", accounts, "--slow-accounts", accounts]),
        ("API and portal reads", ["api.py", "--seconds", "5" if quick else "10"]),
        ("billing run", ["billing_run.py", "--workload", "invoicing",
                         *(["--accounts", "2000"] if quick else [] if full else ["--up-to", "20000"])]),
        ("seat-month-3", ["billing_run.py", "--workload", "seat-month-3", "--n", "1000" if quick else "5000"]),
        ("operator dashboard", ["dashboard.py", "--accounts", "8000" if quick else "80000"]),
    ]  # fmt: skip


def cpu_model() -> str:
    info = Path("/proc/cpuinfo")
    for line in info.read_text().splitlines() if info.exists() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes: a few minutes in all")
    size.add_argument("--full", action="store_true", help="also the 1,000,000-subscription billing run")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="only the benchmarks whose name contains NAME (repeatable)")  # fmt: skip
    args = parser.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"Prorata targets on {platform.node()}: {os.cpu_count()} CPUs ({cpu_model()}), Python "
          f"{platform.python_version()}, load average {load:.1f} at the start", flush=True)  # fmt: skip
    failed = []
    for name, command in steps(args.quick, args.full):
        if args.only and not any(part in name for part in args.only):
            continue
        print(f"\n== {name}: bench/{' '.join(command)}", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE / command[0]), *command[1:]], check=False)
        print(f"-- {name}: {time.perf_counter() - started:.0f} s, exit status {done.returncode}", flush=True)
        if done.returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed its own checks or did not finish: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
