"""The auditors' own verifier (docs/auditor/verify_log.py), run as the auditor runs it, in a process
of its own, against the service served over HTTP, on SQLite and PostgreSQL: it accepts the log
as it is, proves random events and a checkpoint saved earlier, and refuses a key, a tree or a
checkpoint that is not the log's."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.helpers import FEED, bearer, feed_item, settle, story
from tests.processes import ROOT
from tests.served import served as serve

SCRIPT = ROOT / "docs" / "auditor" / "verify_log.py"


@pytest.fixture
def served(app) -> Iterator[str]:
    with serve(app) as url:
        yield url


@pytest.fixture
def auditor(services) -> str:
    return services.staff_tokens.create("audra", "auditor")


def reimbursements(client, services, first: int, count: int) -> None:
    claims = bearer(services.staff_tokens.create(f"flux-{first}", "claims"))
    for number in range(first, first + count):
        item = feed_item(reimbursement_id=f"R-2026-{number:04d}")
        assert client.post(FEED, json=item, headers=claims).status_code == 202
    settle(services)


def verify(url: str, token: str, public_key: str | None, *args: str) -> subprocess.CompletedProcess:
    key = ["--public-key", public_key] if public_key else []
    # Run from elsewhere, with only the standard library and cryptography on hand: the
    # service's packages are not on its path.
    return subprocess.run(
        [sys.executable, "-I", str(SCRIPT), "--url", url, *key, *args],
        capture_output=True, text=True, timeout=120, cwd="/", check=False,
        env={**os.environ, "AUDIT_TOKEN": token},
    )


def test_the_verifier_accepts_the_log_proves_events_and_a_later_checkpoint_extends_an_earlier(
    client, services, clock, served, auditor, tmp_path
):
    story(client, services, clock)
    settle(services)
    public_key = base64.b64encode(services.audit_proofs.signer.public_key).decode()
    saved = tmp_path / "checkpoint"

    first = verify(served, auditor, public_key, "--all", "--sample", "5", "--position", "1",
                   "--save", str(saved))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "OK checkpoint" in first.stdout and first.stdout.count("OK position") >= 5
    assert "OK all" in first.stdout

    reimbursements(client, services, 0, 3)
    later = verify(served, auditor, public_key, "--previous", str(saved), "--sample", "10")
    assert later.returncode == 0, later.stdout + later.stderr
    assert "OK consistency" in later.stdout


def test_the_verifier_refuses_another_key_and_a_checkpoint_the_log_does_not_extend(
    client, services, clock, served, auditor, tmp_path
):
    story(client, services, clock)
    settle(services)
    public_key = base64.b64encode(services.audit_proofs.signer.public_key).decode()
    other_key = base64.b64encode(bytes(32)).decode()

    wrong_key = verify(served, auditor, other_key)
    assert wrong_key.returncode == 1 and "FAIL" in wrong_key.stdout

    # A checkpoint of another history of the same size, signed with the log's key: the
    # service's proof cannot link it to today's log.
    size = services.audit_tree.size()
    forged = services.audit_proofs.signer.sign(size - 1, bytes(32))
    (tmp_path / "forged").write_text(forged, "utf-8")
    reimbursements(client, services, 0, 1)
    refused = verify(served, auditor, public_key, "--previous", str(tmp_path / "forged"))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"FAIL consistency from {size - 1} to" in refused.stdout


def test_without_the_auditors_key_the_verifier_says_it_trusted_the_services(
    client, services, clock, served, auditor
):
    story(client, services, clock)
    settle(services)
    result = verify(served, auditor, None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("WARNING no --public-key")


def test_an_event_changed_in_the_store_fails_its_inclusion_and_the_whole_root(
    client, services, clock, served, auditor
):
    from tests.integration.test_tamper_evidence import edit, stored_rows

    story(client, services, clock)
    settle(services)
    public_key = base64.b64encode(services.audit_proofs.signer.public_key).decode()
    row = next(r for r in stored_rows(services) if r.type == "SignedIn")

    edit(services, row, lambda state: state.update(actor="member:00000000"))

    result = verify(served, auditor, public_key, "--all", "--position", str(row.position))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL the feed's hashes do not make the signed root" in result.stdout
    assert f"FAIL position {row.position}: the inclusion proof does not hold" in result.stdout


def test_the_verifier_imports_nothing_but_the_standard_library_and_cryptography():
    import ast

    tree = ast.parse(SCRIPT.read_text(encoding="utf-8"))
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names] if isinstance(node, ast.Import)
            else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        )
    }
    assert imported - {"cryptography", "__future__"} <= set(sys.stdlib_module_names)
