"""HTTP load with wrk (Debian's package): bounded in time, loopback only, a Lua script per
kind of request, and a JSON summary from wrk's own `done` hook."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Each wrk thread gets an id (setup), reads its lines (init) and cycles through them; lines
# are request bodies or bearer tokens. Registrations need a new member for every request, so
# their bodies are built from a per-thread counter instead.
PRELUDE = """
local threads = 0
setup = function(thread)
  thread:set("id", threads)
  threads = threads + 1
end
local lines, counter = {}, 0
init = function(args)
  if args[1] ~= nil then
    for line in io.lines(args[1]) do lines[#lines + 1] = line end
  end
  first = tonumber(args[2] or "0")
  stride = tonumber(args[3] or "0")
end
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d,'
    .. ' "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
"""

SCRIPTS = {
    "sign_in": PRELUDE + """
request = function()
  counter = counter + 1
  return wrk.format("POST", "/api/v1/sessions", {["Content-Type"] = "application/json"},
                    lines[(counter * 7 + id) % #lines + 1])
end
""",
    "me": PRELUDE + """
request = function()
  counter = counter + 1
  return wrk.format("GET", "/api/v1/me",
                    {["Authorization"] = "Bearer " .. lines[(counter + id) % #lines + 1]})
end
""",
    "healthz": PRELUDE + """
request = function()
  return wrk.format("GET", "/healthz")
end
""",
    "register": PRELUDE + """
request = function()
  local n = first + id * stride + counter
  counter = counter + 1
  local body = string.format(
    '{"member_number": "B%08d", "last_name": "Bench%d", "first_name": "Camille",'
    .. ' "birth_date": "1960-01-01", "email": "b%08d@example.org"}', n, n, n)
  return wrk.format("POST", "/api/v1/registrations",
                    {["Content-Type"] = "application/json"}, body)
end
""",
}


@dataclass(frozen=True)
class Load:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def ok_per_second(self) -> float:
        return (self.requests - self.non_2xx - self.socket_errors) / self.seconds


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    url: str, kind: str, seconds: int, connections: int = 16, lines: list[str] | None = None,
    first: int = 0, stride: int = 0,
) -> Load:
    """`connections` clients for `seconds` seconds on two wrk threads."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / f"{kind}.lua"
        script.write_text(SCRIPTS[kind])
        data = Path(tmp) / "lines.txt"
        data.write_text("\n".join(lines or ["-"]) + "\n")
        completed = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
             "-s", str(script), url, "--", str(data), str(first), str(stride)],
            capture_output=True, text=True, check=True,
        )
    summary = json.loads(completed.stdout.strip().splitlines()[-1])
    return Load(
        requests=summary["requests"], seconds=summary["duration_us"] / 1e6,
        non_2xx=summary["non_2xx"], socket_errors=summary["socket_errors"],
        p50_ms=summary["p50_us"] / 1000, p99_ms=summary["p99_us"] / 1000,
    )
