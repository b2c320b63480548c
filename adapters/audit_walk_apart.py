"""The full `audit verify`'s walk of the log (chain and tree, from the stored bytes:
audit_walk.py) in a process of its own, while the command's process decodes the same events
and replays them (snapshots and read models). The two halves share nothing but the log and
the position they stop at, and each is Python's work on one core: on two cores a large log
is verified in about the time of the longer half (bench/findings.md).

The walk runs as `python -m adapters.audit_walk_apart` (not multiprocessing's spawn, which
would import the command's own main module again: the whole web app for a bench) and opens
the event store and the audit tables with the same settings, nothing else (it decodes
nothing, so it holds no keys). The store's settings come on its standard input (not its
command line, which any user of the machine can read); how far it has walked, then its
report, go back through a pipe. A walk that fails, or a process that dies, is a problem of
the run, never an agreeing log."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from adapters.audit_walk import WalkReport, walk
from adapters.database import Database, eventsourcing_env
from adapters.gc_tuning import batch_collection
from adapters.settings import Settings
from domain.lifecycle import AccountLifecycle
from projections.audit import AuditView
from projections.audit_tree import AuditTreeView


@dataclass
class WalkApart:
    """A walk running in its own process: `done` is the last position it reported."""

    process: subprocess.Popen[bytes]
    receiver: Connection
    done: int = 0
    outcome: tuple[Any, ...] | None = None

    def poll(self) -> None:
        """Take what the walk has sent so far, without waiting."""
        while self.outcome is None and self.receiver.poll():
            self._take()

    def report(self, report: WalkReport, progress: Any = None) -> int:
        """Wait for the walk's end, `progress(done)` at each step it reports; the walk's
        problems into `report`, and the number of streams it met."""
        while self.outcome is None:
            self._take()
            if progress is not None:
                progress(self.done)
        self.process.wait()
        if self.outcome[0] != "walked":
            report.problems.append(f"hash chain and tree: {self.outcome[1]}")
            return 0
        _, checked, streams, problems = self.outcome
        report.chain.checked = checked
        report.problems.extend(problems)
        return int(streams)

    def stop(self) -> None:
        """The run ends (or was interrupted): the walk is not left behind."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait()
        self.receiver.close()

    def _take(self) -> None:
        try:
            message = self.receiver.recv()
        except EOFError:  # killed, or out of memory: it never sent its report
            self.outcome = ("failed", "the walk's process ended without its report (exit"
                                      f" code {self.process.wait()})")
            return
        if message[0] == "at":
            self.done = message[1]
        else:
            self.outcome = message


def start_walk(settings: Settings, head: int, size: int) -> WalkApart:
    """The walk of the log up to position `head` against the tree's first `size` leaves,
    started in a process of its own."""
    readable, writable = os.pipe()
    try:
        process = subprocess.Popen(  # noqa: S603 (this interpreter, this module)
            [sys.executable, "-m", __name__, str(writable)], stdin=subprocess.PIPE,
            pass_fds=(writable,),
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
    finally:
        os.close(writable)  # the child's end: the parent's copy would hide the child's exit
    assert process.stdin is not None
    with process.stdin:  # the store's settings alone: no key, no secret of the service's
        pickle.dump((eventsourcing_env(settings), head, size), process.stdin)
    return WalkApart(process, Connection(readable, writable=False))


@dataclass
class _Store:
    recorder: Any


@dataclass
class _Sources:
    """What the walk reads, as the services hold it: the log, the audit index, the tree."""

    lifecycle: _Store
    audit: AuditView
    audit_tree: AuditTreeView


def _walk(store: dict[str, str], head: int, size: int, sender: Connection) -> None:
    try:
        # A check creates nothing, not even the library's tables where they are missing.
        env = {**store, "CREATE_TABLE": "n"}
        factory = InfrastructureFactory.construct(Environment(AccountLifecycle.name, env))
        try:
            database = Database(factory.datastore)  # type: ignore[attr-defined]
            tracking = factory.tracking_recorder()
            sources = _Sources(_Store(factory.application_recorder()),
                               AuditView(database, tracking), AuditTreeView(database, tracking))
            report = WalkReport(head_size=size)
            with batch_collection():
                walk(sources, report, after=0, head=head,  # type: ignore[arg-type]
                     progress=lambda _task, done, _total: sender.send(("at", done)))
            sender.send(("walked", report.chain.checked, len(report.chain.versions),
                         report.problems))
        finally:
            factory.close()
    except Exception as error:  # said by the parent as a problem of the run
        sender.send(("failed", f"the walk failed: {type(error).__name__}: {error}"))
    finally:
        sender.close()


if __name__ == "__main__":
    # The parent's own pickle of the store's settings, through a pipe only it holds.
    arguments = pickle.load(sys.stdin.buffer)  # noqa: S301
    _walk(*arguments, sender=Connection(int(sys.argv[1]), readable=False))
