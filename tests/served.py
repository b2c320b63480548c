"""An app served over real HTTP on the loopback, for the tests that drive it from outside the
process: the browser tests and the auditors' verifier script."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server


@contextmanager
def served(app: Any, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
    """`app` served on `port` (a free one by default) for as long as the block runs; its URL
    names the server by `host` (a passkey's relying party needs a name such as localhost)."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
