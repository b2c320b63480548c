"""Malformed and invalid requests: the contract's error shape, and nothing recorded or sent.

Every test runs on SQLite and on PostgreSQL (the `client` and `services` fixtures).
"""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import drain

REGISTRATIONS = "/api/v1/registrations"
JSON = "application/json"
MAX_BODY = 64 * 1024
WELL_FORMED = {
    "member_number": "M1000001",
    "last_name": "Dupré-Lefèvre",
    "first_name": "Hélène",
    "birth_date": "1978-04-12",
    "email": "helene.dupre@example.org",
}
REQUIRED = tuple(WELL_FORMED)
OMIT = object()  # a field set to OMIT is left out of the body
NEXT_YEAR = (date.today() + timedelta(days=366)).isoformat()
LONG_EMAIL = "a" * 64 + "@" + ".".join(["b" * 63] * 3) + ".org"  # 64 + 1 + 191 + 4 = 260
WRONG_TYPES = {"number": 42, "bool": True, "list": ["x"], "object": {"x": "y"}, "null": None}


def registration(**changes: Any) -> dict[str, Any]:
    """The well-formed body with some fields changed, added, or left out (OMIT)."""
    body = {**WELL_FORMED, **changes}
    return {name: value for name, value in body.items() if value is not OMIT}


def high_water(services) -> int:
    """The position of the last recorded event, 0 when the store is empty."""
    return services.lifecycle.recorder.max_notification_id() or 0


def mail_files(services) -> list[Path]:
    """The .eml files written so far, after every queued mail job has run."""
    drain(services)
    directory = services.settings.mail.directory
    return sorted(Path(directory).glob("*.eml"))


def assert_nothing_recorded(services, before: int) -> None:
    assert high_water(services) == before, "an event was recorded"
    assert mail_files(services) == [], "an e-mail was written"


def assert_error(response, status: int, code: str, fields: set[str] | None = None) -> None:
    """The contract's error shape; `errors` only, and exactly, where fields are at fault."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert isinstance(body, dict)
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"].strip()
    if fields is None:
        assert set(body) == {"code", "message"}
        return
    assert set(body) == {"code", "message", "errors"}
    assert set(body["errors"]) == fields
    for problems in body["errors"].values():
        assert isinstance(problems, list) and problems
        assert all(isinstance(p, str) and p.strip() for p in problems)


def post_raw(client, data: str | bytes | dict, content_type: str | None):
    return client.post(REGISTRATIONS, data=data, content_type=content_type)


# --- 400 malformed_request -------------------------------------------------------------------

VALID_JSON = json.dumps(WELL_FORMED)
MALFORMED = [
    pytest.param("bonjour", JSON, id="body-not-json"),
    pytest.param(VALID_JSON[:-1] + ',}', JSON, id="invalid-json-trailing-comma"),
    pytest.param(VALID_JSON[:25], JSON, id="invalid-json-truncated"),
    pytest.param("{'member_number': 'M1000001'}", JSON, id="invalid-json-single-quotes"),
    pytest.param(json.dumps([WELL_FORMED]), JSON, id="json-array"),
    pytest.param('"M1000001"', JSON, id="json-string"),
    pytest.param("42", JSON, id="json-number"),
    pytest.param("null", JSON, id="json-null"),
    pytest.param("true", JSON, id="json-bool"),
    pytest.param("", JSON, id="empty-body"),
    pytest.param("   \n", JSON, id="whitespace-body"),
    pytest.param(VALID_JSON, None, id="json-body-without-content-type"),
    pytest.param(VALID_JSON, "text/plain", id="json-body-as-text-plain"),
    pytest.param(VALID_JSON, "application/xml", id="json-body-as-xml"),
    pytest.param(WELL_FORMED, "application/x-www-form-urlencoded", id="form-encoded"),
    pytest.param(WELL_FORMED, "multipart/form-data", id="multipart-form"),
    pytest.param(b'{"member_number": "M1\xff\xfe"}', JSON, id="invalid-utf8-bytes"),
    pytest.param(json.dumps(WELL_FORMED, ensure_ascii=False).encode("latin-1"), JSON,
                 id="latin1-encoded-json"),
    pytest.param("[" * 5000 + "]" * 5000, JSON, id="deeply-nested-array"),
    pytest.param('{"a":' * 5000 + "1" + "}" * 5000, JSON, id="deeply-nested-object"),
]


@pytest.mark.parametrize(("data", "content_type"), MALFORMED)
def test_a_body_that_is_not_a_json_object_sent_as_json_is_a_malformed_request(
    client, services, data, content_type
):
    before = high_water(services)
    response = post_raw(client, data, content_type)
    assert_error(response, 400, "malformed_request")
    assert_nothing_recorded(services, before)


# --- 422 validation_error --------------------------------------------------------------------

MISSING = [
    pytest.param(registration(**{name: OMIT}), {name}, id=f"missing-{name}") for name in REQUIRED
]
WRONG_TYPE = [
    pytest.param(registration(**{name: value}), {name}, id=f"{name}-is-{kind}")
    for name in REQUIRED
    for kind, value in WRONG_TYPES.items()
]
INVALID = [
    # member_number (spaces are removed and letters upper-cased before the check)
    pytest.param(registration(member_number="m100_0001"), {"member_number"},
                 id="member_number-lowercase-with-underscore"),
    pytest.param(registration(member_number="M1000-001"), {"member_number"},
                 id="member_number-with-hyphen"),
    pytest.param(registration(member_number="M1000.001!"), {"member_number"},
                 id="member_number-with-punctuation"),
    pytest.param(registration(member_number="M" + "1" * 20), {"member_number"},
                 id="member_number-21-characters"),
    pytest.param(registration(member_number="M12345 67890 12345 67890"), {"member_number"},
                 id="member_number-21-characters-once-spaces-removed"),
    pytest.param(registration(member_number=""), {"member_number"}, id="member_number-empty"),
    pytest.param(registration(member_number="   "), {"member_number"},
                 id="member_number-only-spaces"),
    pytest.param(registration(member_number="M1000001\n"), {"member_number"},
                 id="member_number-trailing-newline"),
    # names
    pytest.param(registration(last_name=""), {"last_name"}, id="last_name-empty"),
    pytest.param(registration(first_name=""), {"first_name"}, id="first_name-empty"),
    pytest.param(registration(last_name="   "), {"last_name"}, id="last_name-only-spaces"),
    pytest.param(registration(first_name=" \t "), {"first_name"}, id="first_name-only-blanks"),
    pytest.param(registration(last_name="D" * 101), {"last_name"}, id="last_name-101-characters"),
    pytest.param(registration(first_name="H" * 101), {"first_name"},
                 id="first_name-101-characters"),
    pytest.param(registration(last_name="Dupré\x00"), {"last_name"}, id="last_name-with-nul"),
    pytest.param(registration(first_name="Hél\nène"), {"first_name"},
                 id="first_name-with-newline"),
    pytest.param(registration(last_name="Dupré\tLefèvre"), {"last_name"},
                 id="last_name-with-tab"),
    pytest.param(registration(first_name="Hélène\x7f"), {"first_name"},
                 id="first_name-with-delete"),
    pytest.param(registration(first_name="Hélène\n"), {"first_name"},
                 id="first_name-trailing-newline"),
    pytest.param(registration(last_name="Dupré\x85Lefèvre"), {"last_name"},
                 id="last_name-with-c1-control"),
    # birth_date
    pytest.param(registration(birth_date="12/04/1978"), {"birth_date"},
                 id="birth_date-french-format"),
    pytest.param(registration(birth_date="hier"), {"birth_date"}, id="birth_date-not-a-date"),
    pytest.param(registration(birth_date=""), {"birth_date"}, id="birth_date-empty"),
    pytest.param(registration(birth_date="2023-02-30"), {"birth_date"},
                 id="birth_date-february-30"),
    pytest.param(registration(birth_date="1978-04-12T00:00:00"), {"birth_date"},
                 id="birth_date-datetime"),
    pytest.param(registration(birth_date=NEXT_YEAR), {"birth_date"}, id="birth_date-future"),
    pytest.param(registration(birth_date="1899-12-31"), {"birth_date"},
                 id="birth_date-before-1900"),
    # email
    pytest.param(registration(email="pas-une-adresse"), {"email"}, id="email-no-at-sign"),
    pytest.param(registration(email="helene@"), {"email"}, id="email-no-domain"),
    pytest.param(registration(email="@example.org"), {"email"}, id="email-no-local-part"),
    pytest.param(registration(email="helene@exa mple.org"), {"email"}, id="email-with-space"),
    pytest.param(registration(email=""), {"email"}, id="email-empty"),
    pytest.param(registration(email=LONG_EMAIL), {"email"}, id="email-over-254-characters"),
    # the body as a whole
    pytest.param(registration(nickname="Lène"), {"nickname"}, id="unknown-extra-field"),
    pytest.param(registration(password="x" * 12), {"password"}, id="unknown-password-field"),
    pytest.param(registration(secret_question="Nom de mon chat ?"), {"secret_answer"},
                 id="secret_question-without-answer"),
    pytest.param(registration(secret_answer="Minou"), {"secret_question"},
                 id="secret_answer-without-question"),
    pytest.param(registration(member_number=OMIT, email="x"), {"member_number", "email"},
                 id="two-fields-at-fault"),
]


@pytest.mark.parametrize(("body", "fields"), MISSING + WRONG_TYPE + INVALID)
def test_an_invalid_registration_is_a_validation_error_naming_the_fields_at_fault(
    client, services, body, fields
):
    before = high_water(services)
    response = client.post(REGISTRATIONS, json=body)
    assert_error(response, 422, "validation_error", fields)
    assert_nothing_recorded(services, before)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("k" * 256, id="256-characters"),
        pytest.param("my key", id="with-space"),
        pytest.param("", id="empty"),
        pytest.param("clé-1", id="non-ascii"),
    ],
)
def test_a_bad_idempotency_key_is_a_validation_error_on_that_header(client, services, key):
    before = high_water(services)
    response = client.post(REGISTRATIONS, json=WELL_FORMED, headers={"Idempotency-Key": key})
    assert_error(response, 422, "validation_error", {"Idempotency-Key"})
    assert_nothing_recorded(services, before)


# --- 404, 405, 413 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/nope", "/api/v2/registrations", "/nope", "/api/v1/registrations/a/b"]
)
def test_an_unknown_route_is_not_found(client, path):
    assert_error(client.get(path), 404, "not_found")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_a_wrong_method_on_registrations_is_not_allowed(client, services, method):
    before = high_water(services)
    response = client.open(REGISTRATIONS, method=method, json=WELL_FORMED)
    assert_error(response, 405, "method_not_allowed")
    assert_nothing_recorded(services, before)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        pytest.param(json.dumps(registration(nickname="x" * MAX_BODY)), JSON, id="json-object"),
        pytest.param("x" * (MAX_BODY + 1), JSON, id="not-json"),
        pytest.param("x" * (MAX_BODY + 1), "text/plain", id="text-plain"),
    ],
)
def test_a_body_over_64_kib_is_payload_too_large(client, services, data, content_type):
    before = high_water(services)
    response = post_raw(client, data, content_type)
    assert_error(response, 413, "payload_too_large")
    assert_nothing_recorded(services, before)


@pytest.mark.parametrize(
    "registration_id",
    [
        pytest.param("not-a-uuid", id="not-a-uuid"),
        pytest.param("12345", id="digits"),
        pytest.param(str(uuid.uuid4()), id="unknown-uuid"),
    ],
)
def test_an_unknown_registration_is_not_found(client, registration_id):
    assert_error(client.get(f"{REGISTRATIONS}/{registration_id}"), 404, "not_found")


# --- control: the "nothing recorded" checks can fail -------------------------------------------


def test_a_well_formed_registration_is_recorded_and_e_mailed_so_the_checks_can_fail(
    client, services
):
    before = high_water(services)
    response = client.post(REGISTRATIONS, json=WELL_FORMED)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["status"] == "accepted"
    assert high_water(services) > before
    assert len(mail_files(services)) == 1
    with pytest.raises(AssertionError, match="an event was recorded"):
        assert_nothing_recorded(services, before)
    with pytest.raises(AssertionError, match="an e-mail was written"):
        assert_nothing_recorded(services, high_water(services))
