"""Examples for the OpenAPI document: requests and answers drawn from the demo directory
(demo/members.csv), with made-up identifiers and instants and no real-looking secret."""

from __future__ import annotations

from typing import Any

HELENE = {
    "member_number": "M1000001", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
    "birth_date": "1978-04-12",
}
EMAIL = "helene.dupre@example.org"
NEW_EMAIL = "helene.nouvelle@example.org"
IDENTIFIER = "48213067"
PASSWORD = "exemple-de-mot-de-passe"  # noqa: S105  (a placeholder, not a secret)
REGISTRATION_ID = "0b6a7c1e-5d2f-4e8a-9c3b-7f1d2e4a6b80"
REQUEST_ID = "5c9e2f71-3a4b-4d6c-8e1f-2b7a9d0c4e63"
ITEM_ID = "9d4f1b26-7e3a-5c8d-b2f0-6a1e4c7d9b35"
ACCOUNT_ID = "3e1f5a92-6c4d-4b7e-8f20-1d9c7b5a3e64"
CREATED_AT = "2026-11-26T10:00:00+00:00"
DECIDED_AT = "2026-11-26T14:30:00+00:00"
NOTE = "Faute de frappe sur le prénom ; identité vérifiée par téléphone."

REGISTRATION = {**HELENE, "email": EMAIL}
SIGN_IN = {"identifier": IDENTIFIER, "password": PASSWORD}
SESSION = {
    "token": "exemple-de-jeton-opaque", "expires_at": "2026-11-26T22:00:00+00:00",
    "must_change_password": False,
}
ME = {
    "identifier": IDENTIFIER, "email": EMAIL, "first_name": "Hélène", "last_name": "Dupré-Lefèvre",
    "must_change_password": False, "sections": ["health", "points_statement"],
    "beneficiaries": [
        {"first_name": "Jean-François", "last_name": "Dupré-Lefèvre", "relation": "spouse"},
        {"first_name": "Zoé", "last_name": "Dupré-Lefèvre", "relation": "child"},
        {"first_name": "Noël", "last_name": "Dupré-Lefèvre", "relation": "child"},
    ],
    "alerts": {"reimbursements": True}, "secret_question": "Le nom de mon premier chat ?",
}
PASSWORD_CHANGE = {
    "current_password": PASSWORD, "new_password": "une phrase à vous, pas celle de l'exemple",
}
EMAIL_CHANGE = {"new_email": NEW_EMAIL, "password": PASSWORD}
SECRET_QUESTION = {
    "question": "Le nom de mon premier chat ?", "answer": "exemple de réponse",
    "password": PASSWORD,
}
REIMBURSEMENT = {
    "reimbursement_id": "R-2026-000123", "member_number": "M1000003",
    "contract_id": "SANTE-IND-001", "label": "Consultation de pédiatrie",
    "care_date": "2026-10-01", "paid_at": "2026-10-05T10:00:00+02:00", "amount": "25.00",
}
MY_REIMBURSEMENTS = {"contracts": [{
    "contract_id": "SANTE-IND-001",
    "reimbursements": [{
        "reimbursement_id": "R-2026-000123",
        "beneficiary": {"first_name": "Zoé", "last_name": "Dupré-Lefèvre"},
        "label": "Consultation de pédiatrie", "care_date": "2026-10-01",
        "paid_at": "2026-10-05T08:00:00+00:00", "amount": "25.00",
    }],
}]}
SUPPORT_REQUEST = {
    "kind": "email_update", **HELENE, "new_email": NEW_EMAIL,
    "message": "Je n'ai plus accès à mon ancienne adresse e-mail.",
}
QUEUE_ITEM = {
    "item_id": ITEM_ID, "kind": "identity_review", "status": "open", "created_at": CREATED_AT,
    "summary": "Vérification d'identité (M1000001) : « Dupré-Lefèvre Hélèna » déclaré, "
    "« Dupré-Lefèvre Hélène » dans l'annuaire",
    "registration_id": REGISTRATION_ID,
}
QUEUE_PAGE = {"items": [QUEUE_ITEM], "next_cursor": None}
QUEUE_ITEM_DETAIL = {
    **QUEUE_ITEM, "closed_at": None,
    "details": {
        "member_number": "M1000001",
        "declared": {"last_name": "Dupré-Lefèvre", "first_name": "Hélèna"},
        "directory": {"last_name": "Dupré-Lefèvre", "first_name": "Hélène"},
    },
    "decision": None,
}
REGISTRATION_DECISION = {"decision": "approve", "note": NOTE}
DECIDED_REGISTRATION = {
    "registration_id": REGISTRATION_ID, "status": "approved", "created_at": CREATED_AT,
    "decided_at": DECIDED_AT,
}
REQUEST_DECISION = {
    "decision": "accept", "note": "Identité vérifiée par téléphone.", "new_email": NEW_EMAIL,
    "reply": "Comme convenu au téléphone, votre nouvelle adresse est enregistrée.",
}
DECIDED_REQUEST = {
    "request_id": REQUEST_ID, "kind": "email_update", "status": "accepted",
    "created_at": CREATED_AT, "decided_at": DECIDED_AT, "agent": "alice",
    "note": "Identité vérifiée par téléphone.",
    "reply": "Comme convenu au téléphone, votre nouvelle adresse est enregistrée.",
    "reference": REQUEST_ID[:8].upper(),
}
ACCOUNT_SUMMARY = {
    "identifier": IDENTIFIER, "status": "active", "created_at": CREATED_AT, "email": EMAIL,
    "member_number": "M1000001", "first_name": "Hélène", "last_name": "Dupré-Lefèvre",
    "locked_until": None, "has_signed_in": True, "must_change_password": False,
    "credentials_email": {
        "requested_at": CREATED_AT, "reason": "registration", "sent": True, "failures": 0,
    },
}


def _event(
    position: int, version: int, kind: str, at: str, actor: str, digest: str, **data: Any
) -> Any:
    return {
        "position": position, "stream": f"Account:{ACCOUNT_ID}", "version": version,
        "type": kind, "occurred_at": at, "actor": actor, "data": {**data, "actor": actor},
        "hash": digest,
    }


EVENTS = [
    _event(
        5, 1, "AccountOpened", CREATED_AT, "system:registration",
        "LSRdR3uXPAiVr8CYtGdiln9yjlrshVXYHOrxmW1MM+A=", identifier=IDENTIFIER,
        member_number="M1000001", email=EMAIL, sections=["health", "points_statement"],
        registration_id=REGISTRATION_ID, secret_question=None, secret_answer_hash=None,
    ),
    _event(
        11, 6, "PasswordChanged", "2026-11-26T10:12:00+00:00", f"member:{IDENTIFIER}",
        "HsR079HhpSoy2zrvxDQfggalDMCEMrwlDwNJgAhbVBc=",
        password_hash="[masqué]",  # noqa: S106  (the audit API's mask)
    ),
]
HISTORY = {"events": EVENTS}
FEED = {"events": EVENTS[:1], "next_after": 5}
STATE = {
    "identifier": IDENTIFIER, "at": "2026-11-27T00:00:00+00:00", "version": 6,
    "state": {
        "identifier": IDENTIFIER, "email": EMAIL, "status": "active", "has_signed_in": True,
        "password_hash": "[masqué]", "failed_sign_ins": 0, "locked_until": None,
        "alerts_reimbursements": False, "secret_question": None,
    },
}


# --- The audit tree (issue 19): a log of 12 events, its checkpoint signed with a key made for
# this example, and proofs that verify against it (position 5 is leaf 4).
CHECKPOINT = {
    "size": 12,
    "root_hash": "nemhAufp6XMrRBfHGlERiqxePDXxkCoT+9tF43Mb0SM=",
    "checkpoint": "localhost:5000/audit\n12\nnemhAufp6XMrRBfHGlERiqxePDXxkCoT+9tF43Mb0SM=\n\n"
    "— localhost:5000/audit yl95nyv/C0X/23RmHQ+C5zEGi1nPFTZypQ0ZVG8vvVAw5dDWHHjoywSxFYqg223Fa+60"
    "UW8PW9MYHNjpgiJCJbOL+Ac=\n",
}
PUBLIC_KEY = {
    "origin": "localhost:5000/audit",
    "public_key": "crHW41YATl+xMsXtcd76YdL5BeZ0bCdUzwUJx2srv2g=",
}
INCLUSION = {
    "position": 5, "leaf_index": 4, "size": 12,
    "hashes": ["8KlYLzj/9YcpLzhQzlv7FF7wx6P/HP2SiqfmcbIpJlc=",
               "Gnh1VczgxM8TCJScQ3WZRWIdAIAp3H4f9m5Iuxkb0kA=",
               "eUSD1YfdIRLM8V4OFZiGKcGoiU63xR7uhwD0wGkDcIM=",
               "A8HylhUIuunZmHJZbRGkJSQsODujfjxmCy9pf8i8fZc="],
}
CONSISTENCY = {
    "from": 7, "to": 12,
    "hashes": ["KMDOIpn3jT7CAaPb4uLK0qH95Cw/OWnIyTGR2dNetYk=",
               "AbF9nu8LCHosEo/OUiEIXdC1bbRia50/OyYfe2LSF5A=",
               "1aLMbNq4bUVyxo9F55v2blD1tWMkbzfNpfBZasSP1h8=",
               "eUSD1YfdIRLM8V4OFZiGKcGoiU63xR7uhwD0wGkDcIM=",
               "A8HylhUIuunZmHJZbRGkJSQsODujfjxmCy9pf8i8fZc="],
}

# --- Audit (issue 18): the account's state at an instant, as CONTRACT.md "Audit" lists it.
# It replaces STATE above, which nothing uses any more.
AUDIT_STATE_AT = {
    "identifier": IDENTIFIER, "at": "2026-11-26T10:20:00+00:00", "version": 12,
    "state": {
        "status": "locked", "email": EMAIL, "must_change_password": False,
        "locked_until": "2026-11-26T10:33:00+00:00", "alerts": True,
        "secret_question": "Nom de mon premier chien ?",
        "last_sign_in_at": "2026-11-26T10:12:00+00:00",
    },
}

# Passkeys (passkeys.py). The options are py_webauthn's, shortened; a credential is what
# PublicKeyCredential.toJSON() gives, its bytes elided.
CREDENTIAL = {
    "id": "q8V2nQ…", "rawId": "q8V2nQ…", "type": "public-key",
    "response": {"clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0Ii…",
                 "authenticatorData": "SZYN5YgOjGh0NBcPZHZgW4…", "signature": "MEUCIQ…",
                 "userHandle": "3q2-7w…"},
    "clientExtensionResults": {}, "authenticatorAttachment": "platform",
}
PASSKEY_OPTIONS = {"options": {
    "rp": {"name": "Espace Client", "id": "localhost"},
    "user": {"id": "3q2-7w…", "name": IDENTIFIER, "displayName": f"Espace Client {IDENTIFIER}"},
    "challenge": "Vb3c9…", "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
    "timeout": 300000, "excludeCredentials": [],
    "authenticatorSelection": {"residentKey": "required", "requireResidentKey": True,
                               "userVerification": "required"},
    "attestation": "none",
}}
PASSKEY = {"passkey_id": "q8V2nQ…", "name": "Mon téléphone",
           "added_at": "2026-12-03T09:12:00+00:00", "last_used_at": None}
NEW_PASSKEY = {"name": "Mon téléphone", "credential": CREDENTIAL}
RECOVERY_CODES = {"recovery_codes": ["7K2M-QX9P-3D4F-H8RT", "…"]}
PASSKEY_ADDED = {"passkey": PASSKEY, **RECOVERY_CODES}
PASSKEYS = {"passkeys": [PASSKEY], "required": False, "recovery_codes_left": 10}
REQUIREMENT = {"required": True}
PASSKEY_SIGN_IN = {"credential": CREDENTIAL}
RECOVERY_CODE_SIGN_IN = {"identifier": IDENTIFIER, "recovery_code": "7K2M-QX9P-3D4F-H8RT"}
REAUTHENTICATION = {"password": PASSWORD}
