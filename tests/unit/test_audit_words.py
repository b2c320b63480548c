"""The auditor's words (adapters/audit_words.py): every event type of every aggregate has a
French label, its data reads in French, and no secret is ever put into words."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import domain
from adapters.audit_words import FIELDS, LABELS, in_words, label, who
from adapters.http.audit import event_data
from adapters.mail_french import NBSP
from domain.personal_data import ERASED
from tests.helpers import MEMBER_KEY, account

# What an event holds but its words leave out on purpose: the store's metadata, the actor
# (its own column, in words by who()), ids and keys that mean nothing to a reader, and the
# hashes of secrets. A field of a new event is in neither list until someone decides.
LEFT_OUT = {
    "originator_id", "originator_version", "originator_topic", "timestamp", "actor",
    "request_id", "account_id", "registration_id", "member_key", "result_id",
    "password_hash", "secret_answer_hash", "answer_hash", "token_hash", "body_digest",
    "code_hashes", "public_key", "sign_count", "code_index",
}
SECRET_FIELD = re.compile(r"hash|digest|token|password")


def aggregates() -> list[type]:
    from eventsourcing.domain import Aggregate

    found = []
    for module in pkgutil.walk_packages(domain.__path__, "domain."):
        loaded = importlib.import_module(module.name)
        found += [
            cls for cls in vars(loaded).values()
            if inspect.isclass(cls) and issubclass(cls, Aggregate) and cls is not Aggregate
            and cls.__module__ == loaded.__name__
        ]
    return found


def event_classes() -> list[type]:
    """Every event class of every aggregate in domain/: not the bases the library gives each
    aggregate (Event, which every event extends, and Created, unused by an aggregate that
    names its own creation event)."""
    from eventsourcing.domain import Aggregate

    found = []
    for aggregate in aggregates():
        nested = [
            v for v in vars(aggregate).values()
            if inspect.isclass(v) and issubclass(v, Aggregate.Event) and v is not aggregate.Event
        ]
        named_creation = any(
            issubclass(c, Aggregate.Created) and c is not aggregate.Created for c in nested
        )
        found += [c for c in nested if not (named_creation and c is aggregate.Created)]
    return found


def test_the_enumeration_finds_the_event_classes_of_every_aggregate():
    names = {c.__qualname__ for c in event_classes()}
    # The search can fail: one event of each aggregate, the index aggregates' included.
    assert {"Account.AccountOpened", "Account.NoticeSent", "Enrollment.IdentityApproved",
            "SupportRequest.SupportRequestSubmitted", "Reimbursement.ReimbursementRecorded",
            "MemberIndex.AccountUnlinked", "IdempotencyRecord.IdempotencyKeyRenewed",
            "EmailVerificationIndex.EmailVerificationCodeIndexed"} <= names
    assert not {"Account.Event", "Account.Created"} & names


def test_every_event_class_of_every_aggregate_has_a_french_label():
    missing = sorted(c.__qualname__ for c in event_classes() if c.__name__ not in LABELS)
    assert missing == []
    assert label("SignedIn") == "Connexion réussie"
    assert label("ReimbursementRecorded") == "Remboursement reçu"


def test_no_two_aggregates_share_an_event_name_and_no_label_is_stale():
    # The audit API's `type` is the class name alone: labels are keyed by it.
    names = [c.__name__ for c in event_classes()]
    assert len(names) == len(set(names))
    assert set(LABELS) == set(names)
    assert set(FIELDS) <= set(names)


def test_every_field_of_every_event_is_worded_or_left_out_on_purpose():
    undecided = sorted(
        f"{c.__qualname__}.{f.name}" for c in event_classes() for f in dataclasses.fields(c)
        if f.name not in LEFT_OUT
        and f.name not in {field for field, _, _ in FIELDS.get(c.__name__, ())}
    )
    assert undecided == []


def test_no_hash_digest_token_or_password_field_is_ever_worded():
    worded = {field for fields in FIELDS.values() for field, _, _ in fields}
    assert "with_temporary" in worded  # the search can fail: it names a password's kind only
    assert sorted(f for f in worded if SECRET_FIELD.search(f) and f != "with_temporary") == []


def test_a_secret_in_any_field_of_any_event_never_reaches_the_words():
    for cls in event_classes():
        data = {f.name: f"SECRET-{f.name}" for f in dataclasses.fields(cls)}
        text = repr(in_words(cls.__name__, data))
        for field in data:
            if SECRET_FIELD.search(field) and field != "with_temporary":
                assert f"SECRET-{field}" not in text, (cls.__qualname__, field)


def test_dates_instants_and_amounts_read_the_french_way():
    paid = datetime(2026, 7, 3, 12, 5, 59, tzinfo=UTC)  # summer: Paris is UTC+2
    lines = dict(in_words("ReimbursementRecorded", {
        "reimbursement_id": "R1", "member_number": "M1000003", "care_date": date(2026, 6, 30),
        "paid_at": paid, "amount": "1234.5", "label": "Consultation", "member_key": "k",
    }))
    assert lines["Date des soins"] == "30/06/2026"
    assert lines["Payé le"] == "03/07/2026 à 14:05"  # to the minute, never rounded up
    assert lines["Montant"] == f"1\u202f234,50{NBSP}€"
    assert lines["Numéro d'adhérent soigné"] == "M1000003"
    assert "k" not in lines.values()  # the member key is left out
    winter = dict(in_words("AccountLocked", {"until": "2026-12-03T13:05:00+00:00"}))
    assert winter == {"Bloqué jusqu'au": "03/12/2026 à 14:05"}


def test_internal_fields_read_as_words_and_choices_in_french():
    assert in_words("NoticeSent", {"about_version": 6, "outcome": "sent"}) == [
        ("Au sujet de", "l'événement n° 6 de ce compte"), ("Résultat", "envoyé"),
    ]
    assert in_words("SignedIn", {"with_temporary": True}) == [
        ("Mot de passe utilisé", "temporaire")
    ]
    assert in_words("SignInFailed", {"context": "current_password"}) == [
        ("Lors de", "changement de mot de passe")
    ]
    assert in_words("RegistrationRefused", {"reason": "not_principal_member"}) == [
        ("Motif", "pas adhérent principal")
    ]
    assert in_words("IdentityMismatchFlagged", {
        "declared": {"last_name": "Dupré", "first_name": "Hélèna"},
        "directory": {"last_name": "Dupré", "first_name": "Hélène"},
    }) == [("Nom déclaré", "Hélèna Dupré"), ("Nom dans l'annuaire", "Hélène Dupré")]
    # A value the tables do not know yet is shown as stored, not hidden.
    assert in_words("RecoveryRequested", {"outcome": "nouveau"}) == [("Résultat", "nouveau")]
    assert in_words("PasswordChanged", {"password_hash": "[masqué]"}) == []


def test_erased_fields_read_as_erased_and_a_missing_question_as_none():
    erased = dict(in_words("RegistrationRequested", {
        "member_number": ERASED, "last_name": ERASED, "birth_date": ERASED,
        "secret_question": None, "email": ERASED,
    }))
    assert erased == {
        "Numéro d'adhérent": ERASED, "Nom": ERASED, "Date de naissance": ERASED,
        "Adresse e-mail": ERASED, "Question secrète": "aucune",
    }
    assert dict(in_words("ReimbursementRecorded", {"amount": ERASED, "paid_at": ERASED})) == {
        "Montant": ERASED, "Payé le": ERASED,
    }


def test_an_event_reads_the_same_from_the_store_and_from_the_audit_api():
    opened = account()
    opened.set_secret_question("Chien ?", "$2b$04$hash-of-the-answer", "member:12345678",
                               opened.created_on + timedelta(minutes=1))
    opened.fail_sign_in(opened.created_on + timedelta(minutes=2))
    for event in opened.collect_events():
        served = event_data(event)  # JSON-ready, hashes masked
        assert in_words(type(event).__name__, served) == in_words(
            type(event).__name__, vars(event)
        )
        text = repr(in_words(type(event).__name__, vars(event)))
        assert "$2b$" not in text and "[masqué]" not in text and str(MEMBER_KEY) not in text
    assert dict(in_words("AccountOpened", event_data(
        account().collect_events()[0]
    )))["Rubriques"] == "Complémentaire santé"


def test_who_caused_an_event_reads_in_words():
    assert who("member:48213067") == "Membre 48213067"
    assert who("support:alice") == "Support (alice)"
    assert who("claims:flux-sante") == "Flux des prestations (flux-sante)"
    assert who("system:lockout") == "Système (blocage)"
    assert who("system:nouveau") == "Système (nouveau)"
    assert who(None) == "inconnu"


def test_an_unlabelled_type_shows_under_its_own_name():
    assert label("NotAnEvent") == "NotAnEvent"
    assert in_words("NotAnEvent", {"password_hash": "x", "anything": uuid4()}) == []
