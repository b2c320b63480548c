"""The OpenAPI document for the portal team (issue 17, item 6): /api/v1/openapi.json says, for
every operation, in French, what it does, shows an example of its request and of its answer,
and declares the errors it can really give, in the contract's error shape; the values a field
may take are listed, and its patterns are read alike by every client's regex engine."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from marshmallow import ValidationError

from adapters.http import examples
from adapters.http.errors import STATUS
from adapters.http.limits import LIMITED_ENDPOINTS
from adapters.http.schemas import IDENTIFIER, MEMBER_NUMBER, ErrorSchema
from app import ContractApi
from tests.helpers import DEMO_CSV, bearer, make_settings, register_member, sign_in

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # HTTP only

OPENAPI = "/api/v1/openapi.json"
METHODS = {"get", "put", "post", "delete", "patch"}
# Words of English that are not French words too: a summary or description using one is not
# (yet) translated.
ENGLISH = {"the", "and", "with", "of", "to", "for", "is", "this", "that", "its", "by", "from",
           "whether", "which", "when", "who", "are", "be", "it"}
FRENCH = re.compile(r"\b(le|la|les|un|une|des|du|de|d|l|mon|ma|mes|son|sa|ses|au|aux|en|et|"
                    r"ou|pour|par|sur)\b|[àâçéèêëîïôûùüÿœæ]", re.IGNORECASE)
# The contract's values (CONTRACT.md), field by field.
REGISTRATION_STATUSES = ["accepted", "identity_review", "approved", "rejected", "refused"]
REASONS = ["unknown_member", "not_eligible", "not_principal_member", "already_registered"]
QUEUE_KINDS = ["identity_review", "undelivered_email", "email_update", "closure", "other"]
# A value each pattern of the document must match, and match no more once "\n" follows.
PATTERN_SAMPLES = {
    "^[A-Z0-9]{1,20}$": "M1000001",
    "^[0-9]{8}$": "48213067",
    "^[A-Za-z0-9._:-]{1,64}$": "R-2026-000123",
    "^[\\x21-\\x7e]{1,255}$": "activation-3f9c2b7e-0d41",
    "^[A-Za-z0-9+/]{43}=$": "crHW41YATl+xMsXtcd76YdL5BeZ0bCdUzwUJx2srv2g=",  # a SHA-256, base64
}
# Python-only regex syntax, or anchors other engines read otherwise.
NOT_ECMA = re.compile(r"\\[AZzG]|\(\?P|\(\?#|\(\?[aiLmsux-]+[):]|\*\+|\+\+|\?\+")


@pytest.fixture(scope="module")
def document(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """The document as served (the same on either store: SQLite will do)."""
    from app import create_app

    where = tmp_path_factory.mktemp("openapi")
    app = create_app(make_settings(where, f"sqlite:///{where / 'accounts.sqlite3'}"))
    try:
        response = app.test_client().get(OPENAPI)
        assert response.status_code == 200
        yield response.json
    finally:
        app.extensions["accounts"].close()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def main_answer(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    status = min(code for code in operation["responses"] if code.startswith("2"))
    return status, operation["responses"][status]


def component(document: dict[str, Any], name: str) -> dict[str, Any]:
    return document["components"]["schemas"][name]


def test_every_operation_is_summarised_and_described_in_french(document):
    for method, path, operation in operations(document):
        summary, description = operation.get("summary", ""), operation.get("description", "")
        assert summary and description and len(summary) <= 60, (method, path)
        assert FRENCH.search(f"{summary} {description}"), (method, path)
        for text in (summary, description):
            words = set(re.findall(r"[a-z]+", text.lower()))
            assert not words & ENGLISH, (method, path, text, words & ENGLISH)


def test_every_request_body_and_main_answer_has_an_example(document):
    for method, path, operation in operations(document):
        bodies = [("request", operation.get("requestBody", {}).get("content"))]
        status, answer = main_answer(operation)
        bodies.append((status, answer.get("content")))
        for which, content in bodies:
            if content is None:  # no body: a GET's request, a 204
                continue
            media = content["application/json"]
            assert "example" in media or "examples" in media, (method, path, which)


def json_schema(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3.0 schema as JSON Schema: `nullable` becomes a null type; references
    resolve in the document's components."""

    def convert(node: Any) -> Any:
        if isinstance(node, list):
            return [convert(n) for n in node]
        if not isinstance(node, dict):
            return node
        node = {k: convert(v) for k, v in node.items()}
        if node.pop("nullable", False):
            if "type" in node:
                node["type"] = [node["type"], "null"]
            if "enum" in node and None not in node["enum"]:
                node["enum"] = [*node["enum"], None]
        return node

    return convert({**schema, "components": document["components"]})


def examples_of(media: dict[str, Any]) -> list[Any]:
    if "example" in media:
        return [media["example"]]
    return [example["value"] for example in media.get("examples", {}).values()]


def test_every_example_is_what_its_schema_says(document):
    checked = 0
    for method, path, operation in operations(document):
        contents = [operation.get("requestBody", {}).get("content", {})]
        contents += [answer.get("content", {}) for answer in operation["responses"].values()]
        for content in contents:
            for media in content.values():
                validator = jsonschema_rs.validator_for(json_schema(document, media["schema"]))
                for example in examples_of(media):
                    errors = [e.message for e in validator.iter_errors(example)]
                    assert not errors, (method, path, example, errors)
                    checked += 1
    assert checked > 100


def test_the_examples_name_members_of_the_demo_directory():
    with DEMO_CSV.open(encoding="utf-8") as rows:
        demo = {row["member_number"]: row for row in csv.DictReader(rows)}
    for example in (examples.REGISTRATION, examples.HELENE, examples.SUPPORT_REQUEST,
                    examples.REIMBURSEMENT):
        row = demo[example["member_number"]]
        for field in ("last_name", "first_name", "birth_date"):
            assert example.get(field, row[field]) == row[field], (example, field)
    assert examples.REIMBURSEMENT["contract_id"] == demo["M1000003"]["health_contract_id"]


def declared_codes(answer: dict[str, Any]) -> set[str]:
    media = answer["content"]["application/json"]
    assert media["schema"] == {"$ref": "#/components/schemas/Error"}
    return {example["code"] for example in examples_of(media)}


def test_every_error_answer_is_in_the_error_shape_with_an_example_per_code(document):
    for method, path, operation in operations(document):
        for status, answer in operation["responses"].items():
            if status == "default" or status < "400":
                continue
            codes = declared_codes(answer)
            assert codes and all(STATUS[code] == int(status) for code in codes), (method, path)
            assert all(f"`{code}`" in answer["description"] for code in codes), (method, path)


def test_every_operation_declares_503_with_retry_after(document):
    for method, path, operation in operations(document):
        answer = operation["responses"].get("503")
        assert answer is not None, (method, path)
        assert declared_codes(answer) == {"service_unavailable"}
        assert "Retry-After" in answer["headers"], (method, path)


def test_every_bearer_operation_declares_401_and_403(document):
    bearer_operations = [
        (method, path, operation) for method, path, operation in operations(document)
        if operation.get("security") == [{"bearer": []}]
    ]
    assert bearer_operations
    for method, path, operation in bearer_operations:
        responses = operation["responses"]
        assert declared_codes(responses["401"]) == {"authentication_required"}, (method, path)
        assert "WWW-Authenticate" in responses["401"]["headers"]
        assert "forbidden" in declared_codes(responses["403"]), (method, path)


def fill(path: str) -> str:
    return re.sub(r"{[^}]+}", "00000000-0000-0000-0000-000000000000", path)


@SQLITE
def test_the_401_and_403_declared_are_the_ones_answered(client, services, document):
    """Without a token, with a session still on its temporary password, with a member's and
    with a support agent's token: every answer is a declared one (authorisation comes before
    the body is read, so an empty one will do)."""
    identifier, password = register_member(client, services)
    support = bearer(services.staff_tokens.create("openapi-support", "support"))
    claims = bearer(services.staff_tokens.create("openapi-claims", "claims"))
    for method, path, operation in operations(document):
        if not operation.get("security"):
            continue
        # A new temporary session each time: DELETE /api/v1/sessions/current ends its own.
        temporary = bearer(sign_in(client, identifier, password).json["token"])
        answers = {
            caller: client.open(fill(path), method=method, headers=headers, json={})
            for caller, headers in (("none", {}), ("temporary", temporary),
                                    ("support", support), ("claims", claims))
        }
        for caller, response in answers.items():
            status = str(response.status_code)
            if status in ("401", "403"):
                assert response.json["code"] in declared_codes(operation["responses"][status]), (
                    method, path, caller, response.json,
                )
        assert answers["none"].json["code"] == "authentication_required"
        # A temporary session is refused by every operation that declares it so.
        if "password_change_required" in declared_codes(operation["responses"]["403"]):
            assert answers["temporary"].json["code"] == "password_change_required", path


@SQLITE
def test_the_rate_limited_posts_declare_429_with_retry_after(app, document):
    endpoints = {
        endpoint for guarded in LIMITED_ENDPOINTS.values()
        for endpoint in ((guarded,) if isinstance(guarded, str) else guarded)
    }
    limited = {
        rule.rule for rule in app.url_map.iter_rules()
        if rule.endpoint in endpoints and rule.rule.startswith("/api/v1/")
    }
    assert limited == {"/api/v1/sessions", "/api/v1/recoveries", "/api/v1/registrations",
                       "/api/v1/support-requests", "/api/v1/sessions/passkey/options",
                       "/api/v1/sessions/passkey", "/api/v1/sessions/recovery-code"}
    declaring = {
        path for method, path, operation in operations(document)
        if "429" in operation["responses"]
    }
    assert declaring == limited
    for path in limited:
        answer = document["paths"][path]["post"]["responses"]["429"]
        assert declared_codes(answer) == {"rate_limited"}
        assert "Retry-After" in answer["headers"]
    # A registration is also refused past the credentials e-mail cap.
    registrations = document["paths"]["/api/v1/registrations"]["post"]["responses"]
    assert "3 e-mails d'identifiants" in registrations["429"]["description"]


def test_a_conflict_is_declared_where_an_answer_can_be_one(document):
    conflicts = {
        (method, path) for method, path, operation in operations(document)
        if "409" in operation["responses"]
    }
    for expected in [
        ("POST", "/api/v1/registrations"),  # an Idempotency-Key reused with another body
        ("POST", "/api/v1/internal/reimbursements"),  # a reimbursement_id with other facts
        ("POST", "/api/v1/support/registrations/{registration_id}/decision"),
        ("POST", "/api/v1/support/requests/{request_id}/decision"),
    ]:
        assert expected in conflicts
    decision = document["paths"]["/api/v1/support/requests/{request_id}/decision"]["post"]
    assert declared_codes(decision["responses"]["409"]) == {"already_decided", "conflict"}
    # Reads record nothing, so nothing of theirs can lose a race; but an export is recorded
    # (PersonalDataExported: who took a copy of the member's data, and when).
    assert {(m, p) for m, p in conflicts if m == "GET"} == {("GET", "/api/v1/me/export")}


def test_the_idempotency_key_header_is_declared_where_it_is_read(document):
    declared = {
        (method, path): parameter
        for method, path, operation in operations(document)
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "Idempotency-Key"
    }
    assert list(declared) == [("POST", "/api/v1/registrations")]
    header = declared["POST", "/api/v1/registrations"]
    assert header["in"] == "header" and header["required"] is False
    assert header["schema"] == {
        "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]{1,255}$",
    }
    assert "409 `conflict`" in header["description"] and "24 heures" in header["description"]


def test_the_values_a_field_may_take_are_listed(document):
    def enum(schema: str, field: str) -> list[str]:
        return component(document, schema)["properties"][field]["enum"]

    assert enum("RegistrationStatus", "status") == REGISTRATION_STATUSES
    assert enum("RegistrationCreated", "status") == ["accepted", "identity_review", "refused"]
    assert enum("RegistrationCreated", "reason") == enum("RegistrationStatus", "reason") == REASONS
    assert enum("SupportRequestForm", "kind") == ["email_update", "closure", "other"]
    assert enum("QueueItem", "kind") == enum("QueueItemDetail", "kind") == QUEUE_KINDS
    assert enum("QueueItem", "status") == ["open", "closed"]
    assert enum("Request", "kind") == ["email_update", "closure", "other"]
    assert enum("Request", "status") == ["open", "accepted", "rejected"]
    assert enum("DecidedRegistration", "status") == ["approved", "rejected"]
    assert enum("AccountSummary", "status") == ["active", "closed"]
    assert enum("RegistrationDecision", "decision") == ["approve", "reject"]
    assert enum("RequestDecision", "decision") == ["accept", "reject"]
    assert enum("QueueDecision", "decision") == ["approve", "reject", "accept"]
    assert component(document, "Me")["properties"]["sections"]["items"]["enum"] == [
        "health", "retirement", "fiscal_certificate", "points_statement",
    ]
    queue = document["paths"]["/api/v1/support/queue"]["get"]["parameters"]
    by_name = {parameter["name"]: parameter["schema"] for parameter in queue}
    assert by_name["kind"]["enum"] == QUEUE_KINDS
    assert by_name["status"]["enum"] == ["open", "closed"]


def test_the_error_schema_lists_every_code():
    assert ErrorSchema().dump({"code": "rate_limited", "message": "m"})["code"] == "rate_limited"
    assert ErrorSchema().fields["code"].metadata["enum"] == list(STATUS)


@pytest.mark.xfail(
    ContractApi.ERROR_SCHEMA is not ErrorSchema, strict=True,
    reason="app.py still declares its own ErrorSchema, without the codes: it is to take "
    "adapters.http.schemas.ErrorSchema as ContractApi.ERROR_SCHEMA",
)
def test_the_document_lists_every_error_code(document):
    assert component(document, "Error")["properties"]["code"]["enum"] == list(STATUS)


def patterns(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from patterns(value)


def node_binary() -> str:
    """Node.js: the machine's, or the one Playwright (a dev dependency) brings."""
    found = shutil.which("node")
    if found:
        return found
    import playwright

    bundled = Path(playwright.__file__).parent / "driver" / "node"
    if bundled.exists():
        return str(bundled)
    message = "no Node.js to compile the patterns with (install the dev extra)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def test_every_pattern_is_read_alike_by_an_ecma_262_engine(document):
    found = sorted(set(patterns(document)))
    assert found and set(found) <= set(PATTERN_SAMPLES), set(found) - set(PATTERN_SAMPLES)
    for pattern in found:
        assert not NOT_ECMA.search(pattern), pattern
        assert pattern.startswith("^") and pattern.endswith("$"), pattern
    script = """
    const cases = JSON.parse(process.argv[1]);
    const out = cases.map(([pattern, sample]) => [false, true].map((unicode) => {
        const re = new RegExp(pattern, unicode ? "u" : "");
        return re.test(sample) && !re.test(sample + "\\n") && !re.test("\\n" + sample);
    }));
    console.log(JSON.stringify(out));
    """
    cases = [[pattern, PATTERN_SAMPLES[pattern]] for pattern in found]
    done = subprocess.run(
        [node_binary(), "-e", script, json.dumps(cases)],
        capture_output=True, text=True, timeout=30, check=True,
    )
    assert json.loads(done.stdout) == [[True, True]] * len(found), done.stdout


def test_a_value_followed_by_a_newline_is_refused_with_the_same_message():
    for validator, value in ((MEMBER_NUMBER, "M1000001"), (IDENTIFIER, "48213067")):
        assert validator(value) == value
        for wrong in (value + "\n", "\n" + value, value + "\r\n", value + " "):
            with pytest.raises(ValidationError) as refused:
                validator(wrong)
            assert refused.value.messages == [validator.error]
    assert MEMBER_NUMBER.error == "Numéro d'adhérent : 1 à 20 lettres majuscules ou chiffres."
    assert IDENTIFIER.error == "8 chiffres attendus."


@SQLITE
def test_the_api_refuses_a_trailing_newline_in_every_patterned_field(client, services):
    member = {"last_name": "Dupré-Lefèvre", "first_name": "Hélène", "birth_date": "1978-04-12"}
    claims = bearer(services.staff_tokens.create("openapi-claims", "claims"))
    reimbursement = {
        "reimbursement_id": "R-1\n", "member_number": "M1000003", "contract_id": "SANTE-IND-001",
        "label": "Consultation", "care_date": "2026-01-05",
        "paid_at": "2026-01-10T09:00:00+00:00", "amount": "23.00",
    }
    for path, body, headers, field in [
        ("/api/v1/registrations",
         {**member, "member_number": "M1000001\n", "email": "helene@example.org"}, {},
         "member_number"),
        ("/api/v1/recoveries", {**member, "member_number": "M1000001\n"}, {}, "member_number"),
        ("/api/v1/support-requests",
         {**member, "kind": "other", "message": "Bonjour.", "identifier": "48213067\n"}, {},
         "identifier"),
        ("/api/v1/internal/reimbursements", reimbursement, claims, "reimbursement_id"),
    ]:
        response = client.post(path, json=body, headers=headers)
        assert response.status_code == 422, (path, response.json)
        assert list(response.json["errors"]) == [field], (path, response.json)
