"""`make bench`: each figure of issue 8 beside its limit, both measured in this run, on
PostgreSQL + Redis; the report goes to bench/results/latest.md.

    python -m bench.run [--quick] [--output bench/results/latest.md]

Sections, in order (each starts and stops what it needs):
- limits: bcrypt on every core at cost 12 and 4; bare appends (an eventsourcing Application
  saving a one-event aggregate per transaction, one process per core);
- sign-ins and /me through gunicorn (the Procfile's `web`, 4 workers of 2 threads) with wrk,
  16 clients;
- registrations through the API (accepted path) with 1,000 and with 1,000,000 accounts stored
  (the million is generated once by bench/bulk.py into a database kept between runs);
- registrations in process (the use case, one process per core) between two measures of the
  bare appends (bench/in_process.py);
- complete registrations and the credentials e-mail delay in the full layout (gunicorn,
  dramatiq, projection runner, aiosmtpd) at cost 12;
- projection rebuild against reading the log; account load with 10,000 events against 10;
- issue 21's outside-in figures: sign-ins (cost 4 and 12) and complete registrations (cost 4)
  from 4 closed-loop clients, with the CPU of every process per request.
Each figure that divides by the bcrypt bound takes it as measured just before and just after
the figure (the larger), not once at the start.
`--quick` shortens every load to a few seconds and the big database to 20,000 accounts: a
check that the bench runs, not figures to keep.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench import wrk
from bench.in_process import in_process
from bench.layout import ROOT
from bench.outside_in import outside_in
from bench.report import report
from bench.sections import Bench

# Only the order of the sections is kept here, and the --help text: the sections are in
# bench/sections.py, the limits they measure against in bench/limits.py, the report in
# bench/report.py.


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "latest.md"))
    args = parser.parse_args()
    if not wrk.available():
        raise SystemExit("wrk is needed: apt-get install wrk (make bench does it)")
    bench = Bench(args.quick)
    bench.section("limits", bench.limits)
    bench.section("sign-ins and /me", bench.sign_ins)
    bench.section("registrations at 1,000 and 1,000,000 accounts", bench.registrations)
    bench.section("registrations in process", lambda: in_process(bench))
    bench.section("complete registrations and e-mail delay", bench.complete_registrations)
    bench.section("projection rebuild and account load", bench.rebuild_and_load)
    bench.section("sign-ins and registrations, 4 closed-loop clients",
                  lambda: outside_in(bench))
    command = "make bench" + (" BENCH_ARGS=--quick" if args.quick else "")
    text = report(bench, command)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
