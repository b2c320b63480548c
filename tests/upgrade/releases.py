"""Two releases side by side: the previous one, checked out as a git worktree of the commit named
in PREVIOUS, and this one (the repository itself). Both run with this venv's interpreter; each
imports its own code (cwd and PYTHONPATH are its root, ahead of the editable install's finder).

Also: the child processes of a test (tests/processes.py starts and stops them), and HTTP calls."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.processes import ROOT, Child, start, stop

PREVIOUS_COMMIT = Path(__file__).with_name("PREVIOUS").read_text(encoding="utf-8").strip()
BIN = Path(sys.executable).parent  # the venv's bin: python, flask, gunicorn, dramatiq
DEADLINE = 30.0  # seconds: a start-up, or one e-mail, with a wide margin
PACKAGES = ("app", "domain", "adapters", "bootstrap", "projections", "workers")
T = TypeVar("T")


@dataclass(frozen=True)
class Release:
    name: str  # "previous" or "head"
    root: Path

    def env(self, base: dict[str, str]) -> dict[str, str]:
        return {**base, "PYTHONPATH": str(self.root), "PATH": f"{BIN}:{base['PATH']}"}

    def flask(self, env: dict[str, str], *args: str, check: bool = True) -> str:
        """`flask --app app ARGS` from the release's root; its standard output."""
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", *args], check=False,
            cwd=self.root, env=self.env(env), capture_output=True, text=True, timeout=120,
        )
        if check:
            assert done.returncode == 0, (
                f"{self.name}: `flask --app app {' '.join(args)}` exited {done.returncode}\n"
                f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr[-5000:]}"
            )
        return done.stdout

    def staff_token(self, env: dict[str, str], name: str, role: str) -> str:
        """As an operator does: `flask --app app staff create NAME --role ROLE | tail -1`."""
        return self.flask(env, "staff", "create", name, "--role", role).splitlines()[-1]

    def procfile(self) -> dict[str, str]:
        lines = (self.root / "Procfile").read_text(encoding="utf-8").splitlines()
        return dict(line.split(": ", 1) for line in lines if line.strip())

    def code_locations(self, env: dict[str, str]) -> dict[str, str]:
        """Where the release's processes import each top-level package from."""
        code = f"import json, {', '.join(PACKAGES)}; print(json.dumps({{"
        code += ", ".join(f"'{p}': {p}.__file__" for p in PACKAGES) + "}))"
        done = subprocess.run([sys.executable, "-c", code], check=False, cwd=self.root,
                              env=self.env(env), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])


HEAD = Release("head", ROOT)


@contextmanager
def previous_release(directory: Path) -> Iterator[Release]:
    """`git worktree add --detach` of the previous release, removed afterwards."""
    path = directory / "previous"
    git = ["git", "-C", str(ROOT), "worktree"]
    added = subprocess.run([*git, "add", "--detach", str(path), PREVIOUS_COMMIT],
                           check=False, capture_output=True, text=True, timeout=120)
    assert added.returncode == 0, (
        f"cannot check out the previous release {PREVIOUS_COMMIT} (a shallow clone? CI needs "
        f"the full history):\n{added.stdout}{added.stderr}"
    )
    try:
        yield Release("previous", path)
    finally:
        subprocess.run([*git, "remove", "--force", str(path)], check=False,
                       capture_output=True, timeout=120)


class Fleet:
    """The child processes of one test, by name; any of them dying unasked fails the test,
    with every log."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.children: dict[str, Child] = {}
        self.stopped: set[str] = set()
        self.finite: set[str] = set()  # commands that end by themselves

    def start(self, release: Release, what: str, command: str, env: dict[str, str],
              finite: bool = False) -> Child:
        name = f"{release.name}-{what}"
        assert name not in self.children, name
        if finite:
            self.finite.add(name)
        script = f"cd {shlex.quote(str(release.root))} && exec {command}"
        child = start(["bash", "-c", script], release.env(env), self.log_dir / f"{name}.log")
        self.children[name] = child
        return child

    def stop_release(self, release: Release) -> None:
        """SIGTERM to each of the release's processes at once (tests/processes.py stop()). Each
        must end on it: exit 0, or killed by the signal itself (Flask's development server has
        no handler), not by the SIGKILL that stop() sends when SIGTERM did not end it in 30 s."""
        names = [n for n in self.children
                 if n.startswith(f"{release.name}-") and n not in self.stopped]
        with ThreadPoolExecutor(max(len(names), 1)) as pool:
            list(pool.map(lambda name: stop(self.children[name].process, timeout=30), names))
        self.stopped.update(names)
        ended = {name: self.children[name].process.returncode for name in names}
        assert set(ended.values()) <= {0, -signal.SIGTERM}, (
            f"not a clean stop on SIGTERM: {ended}\n{self.logs()}")

    def close(self) -> None:
        for name, child in self.children.items():
            if name not in self.stopped:
                stop(child.process, timeout=30)

    def check_alive(self, what: str) -> None:
        for name, child in self.children.items():
            if name not in self.stopped | self.finite and not child.alive():
                pytest.fail(f"{name} exited ({child.process.returncode}) before {what}\n"
                            f"{self.logs()}")

    def finish(self, name: str, seconds: float = DEADLINE) -> None:
        """Waits for a finite command to end, which must be with 0."""
        child = self.children[name]
        self.wait(f"{name} to finish", lambda: not child.alive(), seconds)
        self.stopped.add(name)
        code = child.process.returncode
        assert code == 0, f"{name} exited {code}\n{self.logs()}"

    def logs(self, tail: int = 6000) -> str:
        return "\n".join(f"--- {name}.log (last {tail} characters)\n{child.log()[-tail:]}"
                         for name, child in self.children.items())

    def wait(self, what: str, condition: Callable[[], T], seconds: float = DEADLINE) -> T:
        """Polls `condition` until it is truthy, and returns what it returned."""
        deadline = time.monotonic() + seconds
        while True:
            result = condition()
            if result:
                return result
            self.check_alive(what)
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {seconds:.0f} s\n{self.logs()}")
            time.sleep(0.1)

    def checks_ran(self, release: Release) -> bool:
        """The release's scheduled checks (workers/checks.py) have run at least once: its
        reconciler of lost messages has looked at what it inherited."""
        return any(
            "lost messages" in line and "executed successfully" in line
            for name, child in self.children.items() if name.startswith(f"{release.name}-")
            for line in child.log().splitlines()
        )


@dataclass
class Api:
    """One API process (or gunicorn), called like the portal and the staff's tools call it."""

    name: str
    port: int
    fleet: Fleet

    def raw(self, method: str, path: str, body: Any = None,
            token: str | None = None) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                         headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=DEADLINE) as reply:
                status, raw = reply.status, reply.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except OSError as error:  # refused, reset, timed out: say what the processes said
            pytest.fail(f"{self.name}: {method} {path}: {error!r}\n{self.fleet.logs()}")
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def call(self, method: str, path: str, body: Any = None, token: str | None = None,
             expect: int = 200) -> Any:
        status, answer = self.raw(method, path, body, token)
        if status != expect:
            pytest.fail(f"{self.name}: {method} {path} answered {status} {answer!r}, "
                        f"not {expect}\n{self.fleet.logs()}")
        return answer

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as r:
            text = r.read().decode()
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in text.splitlines() if line.startswith("accounts_")}

    def settle(self) -> None:
        """Waits until the read models (and any being rebuilt beside them) have caught up with
        the event log, no message waits in the mail queue, and both stay so across two readings
        half a second apart."""
        def quiet() -> dict[str, float] | None:
            values = {k: v for k, v in self.metrics().items() if k.startswith((
                "accounts_projection_lag_events", "accounts_read_model_rebuild_lag_events",
                "accounts_projection_position", "accounts_queue_depth"))}
            waiting = [k for k, v in values.items() if v and not k.startswith(
                "accounts_projection_position")]
            return None if waiting or not values else values

        def steady() -> bool:
            first = quiet()
            time.sleep(0.5)
            return first is not None and first == quiet()

        self.fleet.wait(f"{self.name}'s read models and mail queue to settle", steady)
