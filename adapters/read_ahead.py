"""Reading the next batch of a long walk while this one is worked on: the database does its
part on the other core, and the driver waits without the GIL, so a walk of the log no longer
stops at every batch for its round trips (a sixth of a full `audit verify`'s time,
bench/findings.md). One batch ahead, no more: memory stays that of two batches."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
_END = object()


def read_ahead(batches: Iterator[T]) -> Iterator[T]:
    """What `batches` yields, in order, each one read while the one before is used. Its
    errors are raised here, where the batch they stopped would have been."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead") as reader:
        coming = reader.submit(next, batches, _END)
        while (batch := coming.result()) is not _END:
            coming = reader.submit(next, batches, _END)
            yield batch  # type: ignore[misc]
