"""The benches are run by hand or by `make bench`, not by the tests: an import that a change
broke (bench/sections.py imported a helper bench/audit_verify.py no longer had) went unseen
until the next `make bench`. Each bench module imports, and each one run by itself has its
`main`."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
MODULES = sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("name", MODULES)
def test_the_bench_module_imports(name):
    module = importlib.import_module(f"bench.{name}")
    if "__main__" in (BENCH / f"{name}.py").read_text(encoding="utf-8"):
        assert callable(module.main)
