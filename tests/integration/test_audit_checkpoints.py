"""Published audit checkpoints (migration 0006, adapters/audit_proofs.py): the scheduled check
signs the tree as it stands and keeps each new size's note, so that an auditor can have any
of them later and ask for the consistency proof between two; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from adapters import schema
from adapters.checkpoints import open_checkpoint
from adapters.database import schema_lock
from domain import merkle
from tests.helpers import FEED, bearer, feed_item, open_account, settle, table_names


def paid(client, services, count: int) -> None:
    claims = bearer(services.staff_tokens.create(f"flux-{count}", "claims"))
    for number in range(count):
        item = feed_item(reimbursement_id=f"R-{count}-{number:04d}")
        assert client.post(FEED, json=item, headers=claims).status_code == 202
    settle(services)


def test_each_new_size_is_published_once_and_opens_with_the_logs_key(client, services, clock):
    proofs = services.audit_proofs
    assert proofs.publish(clock()) is None and proofs.published() == []  # no event, no tree

    open_account(client, services)
    settle(services)
    first = proofs.publish(clock())
    clock.advance(minutes=60)
    assert proofs.publish(clock()) is None  # the tree has not grown: nothing new to sign
    paid(client, services, 3)
    clock.advance(minutes=60)
    second = proofs.publish(clock())

    published = proofs.published()
    assert [(p.size, p.root, p.note) for p in published] == [
        (second.size, second.root, second.note), (first.size, first.root, first.note)]
    assert published[0].published_at - published[1].published_at == timedelta(minutes=120)
    assert first.size < second.size == services.audit_tree.size()
    signer = proofs.signer
    for checkpoint in published:
        opened = open_checkpoint(checkpoint.note, signer.origin, signer.public_key)
        assert (opened.size, opened.root) == (checkpoint.size, checkpoint.root)
    # Any two published checkpoints: the log between them only grew.
    hashes = proofs.consistency(first.size, second.size)
    assert merkle.verify_consistency(first.size, second.size, first.root, second.root, hashes)


def test_the_table_comes_with_migration_0006_and_leaves_with_its_downgrade(
    client, services, settings, clock
):
    database = services.database
    open_account(client, services)
    settle(services)
    services.audit_proofs.publish(clock())
    assert schema.current(database) == schema.head() == "0006"

    assert schema.downgrade(settings, "0005") == "0005"
    assert "audit_checkpoints" not in table_names(services)
    with schema_lock(settings):
        assert schema.migrate(settings, database) == "0005"
    assert "audit_checkpoints" in table_names(services)
    assert services.audit_proofs.published() == []
    assert services.audit_proofs.publish(clock()).size == services.audit_tree.size()
