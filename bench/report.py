"""The report `make bench` writes to bench/results/latest.md: the machine and commit, each
figure beside its limit, what else was measured, the time per section, then
bench/findings.md."""

from __future__ import annotations

import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import redis

from bench.layout import PG, ROOT
from bench.limits import CORES
from bench.sections import REDIS, Bench


def machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    memory = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))) / 1024 / 1024
    with psycopg.connect(f"{PG}/postgres") as connection:
        postgres = connection.execute("SHOW server_version").fetchone()[0]
    redis_version = redis.Redis.from_url(REDIS).info()["redis_version"]
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.strip()
    return [
        f"- machine: {CORES} cores ({cpu}), {memory:.0f} GiB; Python {platform.python_version()},"
        f" PostgreSQL {postgres}, Redis {redis_version}, wrk",
        f"- commit: {commit}; run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    ]


def report(bench: Bench, command: str) -> str:
    lines = ["# Benchmarks", "", f"`{command}`", "", *machine(), "",
             "| figure | measured | limit, measured in the same run | value | ratio | target |"
             " met |", "|---|---|---|---|---|---|---|"]
    for f in bench.figures:
        met = "—" if f.meets is None else ("yes" if f.meets else "**no**")
        lines.append(f"| {f.name} | {f.shown or f'{f.value:,.2f}'} | {f.limit_name} |"
                     f" {f.limit:,.2f} |"
                     f" {f.ratio:.3f} | {f.target} | {met} |")
    lines += ["", "## Also measured", "", *(f"- {note}" for note in bench.notes), "",
              "## Time per section", "",
              *(f"- {name}: {seconds:.0f} s" for name, seconds in bench.timings.items()),
              f"- whole run: {sum(bench.timings.values()):.0f} s", ""]
    findings = ROOT / "bench" / "findings.md"  # written by hand: what the profiles showed
    if findings.exists():
        lines += [findings.read_text(encoding="utf-8")]
    return "\n".join(lines)
