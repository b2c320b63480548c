"""Whether the peer of an idle kept connection has spoken, asked without a round trip.

Between two uses, a PostgreSQL backend or an SMTP server sends nothing unless it ends the
connection (a FATAL message or a 421, then the end of the stream), which makes the socket
readable. poll(), not select(): select() refuses descriptors from 1024 up (FD_SETSIZE), which
a process whose limit of open files is raised reaches with enough client connections.
"""

from __future__ import annotations

import select


def has_spoken(fileno: int) -> bool:
    """True when the socket is readable now: data, its end, an error, or a closed descriptor
    (a closed socket object's is -1)."""
    if fileno < 0:
        return True
    poller = select.poll()
    poller.register(fileno, select.POLLIN)
    return bool(poller.poll(0))
