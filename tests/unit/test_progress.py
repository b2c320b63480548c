"""The long commands' progress bars (adapters/progress.py): drawn on a terminal only, one task
at a time, each with what is done out of the total, the rate and the time left."""

from __future__ import annotations

import io

from adapters.progress import ProgressBars


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_each_task_has_its_bar_with_done_total_rate_and_time_left(monkeypatch):
    now = [100.0]
    monkeypatch.setattr("adapters.progress.time.perf_counter", lambda: now[0])
    screen = Terminal()
    with ProgressBars(file=screen) as progress:
        progress("hash chain (events)", 1_000, 31_000)
        now[0] += 2.0
        progress("hash chain (events)", 5_000, 31_000)  # 2,000/s since the first report
        now[0] += 13.0
        progress("hash chain (events)", 31_000, 31_000)
        progress("replay (events)", 2_000, 4_000)
    drawn = screen.getvalue()

    assert "1000/31000" in drawn and "2000/4000" in drawn, drawn
    assert "5000/31000  2\u202f000/s, 0:00:13 left" in drawn, drawn
    assert "31000/31000  2\u202f000/s, 0:00:00 left" in drawn, drawn
    assert drawn.index("replay (events)") > drawn.index("31000/31000")
    assert drawn.endswith("\n")  # the last bar is ended by the block


def test_a_line_of_the_command_ends_the_bar_above_it(capsys):
    screen = Terminal()
    with ProgressBars(file=screen) as progress:
        progress("snapshots (streams)", 5, 10)
        progress.say("snapshots: 5 checked against their events")
        finished = screen.getvalue()
        progress("replay (events)", 1, 10)
    assert finished.endswith("\n"), finished
    assert capsys.readouterr().out == "snapshots: 5 checked against their events\n"


def test_elsewhere_than_a_terminal_nothing_is_drawn(capsys):
    log = io.StringIO()
    with ProgressBars(file=log) as progress:
        progress("hash chain (events)", 10, 100)
        progress.say("10 events chained")
    assert log.getvalue() == ""
    assert capsys.readouterr().out == "10 events chained\n"
