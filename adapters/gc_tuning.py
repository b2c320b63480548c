"""The cyclic garbage collector during a long batch (`audit verify`): with its default
thresholds it runs a full collection every few hundred thousand allocations, and each one
walks every object the process holds, the modules' own included. A batch that decodes
millions of events allocates that many in a few seconds; a fifth of a full verify's time
went there (bench/findings.md). What was alive before the batch is frozen out of the
collections, and the youngest generation collected less often; cycles are still collected."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Objects allocated, net, before the youngest generation is collected (CPython's is 700).
YOUNGEST = 50_000


@contextmanager
def batch_collection() -> Iterator[None]:
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNGEST, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
