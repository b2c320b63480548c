"""The WebAuthn ceremonies against a software authenticator: a passkey registers and signs in;
every forged or broken response is a PasskeyRefusedError whose message holds no challenge
and no credential material."""

from __future__ import annotations

import json
from base64 import urlsafe_b64encode

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from adapters.webauthn_ceremonies import WebAuthnCeremonies
from domain.errors import PasskeyRefusedError
from domain.passkey_types import NewPasskey
from tests.soft_authenticator import SoftAuthenticator, b64url, unb64url

ORIGIN, RP_ID = "http://localhost:5000", "localhost"
HANDLE = bytes(range(32))


@pytest.fixture
def ceremonies() -> WebAuthnCeremonies:
    return WebAuthnCeremonies(RP_ID, "Espace Client", ORIGIN)


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(ORIGIN, RP_ID)


def register(ceremonies, authenticator, **forge) -> NewPasskey:
    options, challenge = ceremonies.registration_options(HANDLE, "12345678", "Hélène M.", [])
    return ceremonies.verify_registration(authenticator.create(options, **forge), challenge)


def sign_in(ceremonies, authenticator, passkey, sign_count, allow=(), **forge) -> int:
    options, challenge = ceremonies.authentication_options(list(allow))
    response = authenticator.get(options, **forge)
    return ceremonies.verify_authentication(response, challenge, passkey.public_key, sign_count)


def refused(call, *args, **kwargs) -> str:
    """The reason of the refusal, checked to hold nothing secret."""
    with pytest.raises(PasskeyRefusedError) as caught:
        call(*args, **kwargs)
    return str(caught.value)


def clean(reason: str, *secrets: bytes) -> bool:
    return all(
        text not in reason
        for secret in secrets
        for text in (secret.hex(), b64url(secret), urlsafe_b64encode(secret).decode())
    )


# --- the options ---------------------------------------------------------------------------


def test_registration_options_ask_for_a_discoverable_passkey(ceremonies):
    options_json, challenge = ceremonies.registration_options(
        HANDLE, "12345678", "Hélène M.", [b"old-1", b"old-2"]
    )
    options = json.loads(options_json)

    assert unb64url(options["challenge"]) == challenge and len(challenge) == 32
    assert options["rp"] == {"id": RP_ID, "name": "Espace Client"}
    assert options["user"] == {"id": b64url(HANDLE), "name": "12345678",
                               "displayName": "Hélène M."}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["requireResidentKey"] is True
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    assert options["timeout"] == 300_000
    assert {p["alg"] for p in options["pubKeyCredParams"]} == {-7, -8, -257}
    assert [unb64url(d["id"]) for d in options["excludeCredentials"]] == [b"old-1", b"old-2"]


def test_each_ceremony_gets_a_fresh_challenge(ceremonies):
    challenges = {ceremonies.authentication_options([])[1] for _ in range(5)}
    assert len(challenges) == 5


def test_sign_in_options_without_credentials_let_the_authenticator_choose(ceremonies):
    options = json.loads(ceremonies.authentication_options([])[0])
    assert options["rpId"] == RP_ID and options.get("allowCredentials", []) == []
    assert options["userVerification"] == "required"

    listed = json.loads(ceremonies.authentication_options([b"cred"])[0])
    assert [unb64url(d["id"]) for d in listed["allowCredentials"]] == [b"cred"]


# --- the happy path ------------------------------------------------------------------------


def test_a_passkey_registers_then_signs_in_again_and_again(ceremonies, authenticator):
    passkey = register(ceremonies, authenticator)

    assert passkey.credential_id == authenticator.credentials[0].id
    assert passkey.sign_count == 0 and passkey.transports == ["internal"]
    assert passkey.backed_up is False
    assert passkey.aaguid == "00000000-0000-0000-0000-000000000000"

    count = sign_in(ceremonies, authenticator, passkey, passkey.sign_count)
    assert count == 1
    assert sign_in(ceremonies, authenticator, passkey, count) == 2


def test_a_response_tells_its_challenge_credential_and_user_before_it_is_verified(
    ceremonies, authenticator
):
    passkey = register(ceremonies, authenticator)
    options, challenge = ceremonies.authentication_options([])
    response = authenticator.get(options)

    assert ceremonies.challenge_of(response) == challenge
    assert ceremonies.credential_id_of(response) == passkey.credential_id
    assert ceremonies.user_handle_of(response) == HANDLE


@pytest.mark.parametrize("response", [
    None, [], "text", {}, {"rawId": 12, "response": []},
    {"rawId": "***", "response": {"clientDataJSON": "***", "userHandle": "é"}},
    {"rawId": "", "response": {"clientDataJSON": b64url(b"not json"), "userHandle": ""}},
    {"rawId": b64url(bytes(1024)),
     "response": {"clientDataJSON": b64url(b'{"type": 1, "challenge": 2, "origin": 3}'),
                  "userHandle": b64url(bytes(65))}},
])
def test_an_unreadable_response_tells_nothing(ceremonies, response):
    assert ceremonies.challenge_of(response) is None
    assert ceremonies.credential_id_of(response) is None
    assert ceremonies.user_handle_of(response) is None


def test_a_synced_passkey_that_never_counts_signs_in(ceremonies):
    authenticator = SoftAuthenticator(ORIGIN, RP_ID, counts=False, backed_up=True)
    passkey = register(ceremonies, authenticator)
    assert passkey.backed_up is True

    assert sign_in(ceremonies, authenticator, passkey, 0) == 0
    assert sign_in(ceremonies, authenticator, passkey, 0) == 0


# --- registration refused ------------------------------------------------------------------


@pytest.mark.parametrize(("forge", "reason"), [
    ({"origin": "http://localhost:5001"}, "wrong origin"),
    ({"origin": "https://localhost:5000"}, "wrong origin"),
    ({"rp_id": "evil.example"}, "wrong relying party id"),
    ({"ceremony": "webauthn.get"}, "wrong ceremony type"),
    ({"user_verified": False}, "user not verified"),
])
def test_a_forged_registration_is_refused(ceremonies, authenticator, forge, reason):
    options, challenge = ceremonies.registration_options(HANDLE, "12345678", "H", [])
    response = authenticator.create(options, **forge)

    said = refused(ceremonies.verify_registration, response, challenge)
    assert said == reason
    assert clean(said, challenge, authenticator.credentials[-1].id)


def test_a_registration_for_another_challenge_is_refused(ceremonies, authenticator):
    options, _ = ceremonies.registration_options(HANDLE, "12345678", "H", [])
    _, other = ceremonies.registration_options(HANDLE, "12345678", "H", [])
    response = authenticator.create(options)

    assert refused(ceremonies.verify_registration, response, other) == "challenge mismatch"


def _set(mapping: dict, **values) -> dict:
    mapping.update(values)
    return mapping


@pytest.mark.parametrize("mangle", [
    lambda r: "not a dict",
    lambda r: {key: value for key, value in r.items() if key != "response"},
    lambda r: _set(r, type="password"),
    lambda r: _set(r, id="AAAA"),
    lambda r: _set(r, response=_set(r["response"], attestationObject=b64url(b"\xa0junk"))),
    lambda r: _set(r, response=_set(r["response"], clientDataJSON="%%%")),
    lambda r: _set(r, response=_set(r["response"], clientDataJSON=b64url(b"[1, 2]"))),
])
def test_a_malformed_registration_is_refused(ceremonies, authenticator, mangle):
    options, challenge = ceremonies.registration_options(HANDLE, "12345678", "H", [])
    response = mangle(authenticator.create(options))

    reason = refused(ceremonies.verify_registration, response, challenge)
    assert clean(reason, challenge, authenticator.credentials[-1].id)


def test_a_cross_origin_registration_is_refused(ceremonies, authenticator):
    options, challenge = ceremonies.registration_options(HANDLE, "12345678", "H", [])
    response = authenticator.create(options)
    client_data = json.loads(unb64url(response["response"]["clientDataJSON"]))
    client_data["crossOrigin"] = True
    response["response"]["clientDataJSON"] = b64url(json.dumps(client_data).encode())

    assert refused(ceremonies.verify_registration, response, challenge) == "cross-origin ceremony"


# --- sign-in refused -----------------------------------------------------------------------


@pytest.fixture
def passkey(ceremonies, authenticator) -> NewPasskey:
    return register(ceremonies, authenticator)


@pytest.mark.parametrize(("forge", "reason"), [
    ({"origin": "http://127.0.0.1:5000"}, "wrong origin"),
    ({"rp_id": "127.0.0.1"}, "wrong relying party id"),
    ({"ceremony": "webauthn.create"}, "wrong ceremony type"),
    ({"sign_with": ec.generate_private_key(ec.SECP256R1())}, "bad signature"),
    # A passkey alone signs in: two factors only when the device checked its owner.
    ({"user_verified": False}, "user not verified"),
])
def test_a_forged_sign_in_is_refused(ceremonies, authenticator, passkey, forge, reason):
    options, challenge = ceremonies.authentication_options([])
    response = authenticator.get(options, **forge)

    said = refused(
        ceremonies.verify_authentication, response, challenge, passkey.public_key, 0
    )
    assert said == reason
    assert clean(said, challenge, passkey.credential_id, passkey.public_key)


def test_a_sign_in_for_another_challenge_is_refused(ceremonies, authenticator, passkey):
    options, _ = ceremonies.authentication_options([])
    _, other = ceremonies.authentication_options([])
    response = authenticator.get(options)

    assert refused(
        ceremonies.verify_authentication, response, other, passkey.public_key, 0
    ) == "challenge mismatch"


def test_a_counter_that_does_not_grow_is_refused(ceremonies, authenticator, passkey):
    stored = sign_in(ceremonies, authenticator, passkey, 0)
    stored = sign_in(ceremonies, authenticator, passkey, stored)
    assert stored == 2

    for count in (2, 1, 0):  # a clone lagging behind, or stuck at zero
        options, challenge = ceremonies.authentication_options([])
        response = authenticator.get(options, counter=count)
        assert refused(
            ceremonies.verify_authentication, response, challenge, passkey.public_key, stored
        ).startswith("sign count did not increase")


def test_a_replayed_sign_in_is_refused_by_its_counter(ceremonies, authenticator, passkey):
    options, challenge = ceremonies.authentication_options([])
    stored = ceremonies.verify_authentication(
        authenticator.get(options), challenge, passkey.public_key, 0
    )
    # Even with the same challenge (the challenge store refuses it first: single use).
    assert refused(
        ceremonies.verify_authentication, authenticator.replay(), challenge,
        passkey.public_key, stored,
    ).startswith("sign count did not increase")


def test_a_tampered_response_is_refused(ceremonies, authenticator, passkey):
    options, challenge = ceremonies.authentication_options([])
    response = authenticator.get(options)
    signature = bytearray(unb64url(response["response"]["signature"]))
    signature[-1] ^= 1
    response["response"]["signature"] = b64url(bytes(signature))

    assert refused(
        ceremonies.verify_authentication, response, challenge, passkey.public_key, 0
    ) == "bad signature"


def test_a_response_by_a_credential_of_another_account_is_refused(ceremonies, passkey):
    """The domain looks the public key up by credential id; another authenticator's response
    checked against this passkey's key fails, whatever its id says."""
    other = SoftAuthenticator(ORIGIN, RP_ID)
    register(ceremonies, other)
    options, challenge = ceremonies.authentication_options([])

    assert refused(
        ceremonies.verify_authentication, other.get(options), challenge, passkey.public_key, 0
    ) == "bad signature"


@pytest.mark.parametrize("mangle", [
    lambda r: r.pop("rawId"),
    lambda r: r.update(rawId="***"),
    lambda r: r.update(id=b64url(b"another credential")),
    lambda r: r["response"].pop("signature"),
    lambda r: r["response"].update(authenticatorData=b64url(b"short")),
    lambda r: r["response"].update(userHandle=12),
    lambda r: r["response"].update(clientDataJSON=b64url(b'{"type": "webauthn.get"}')),
])
def test_an_unparseable_sign_in_is_refused(ceremonies, authenticator, passkey, mangle):
    options, challenge = ceremonies.authentication_options([])
    response = authenticator.get(options)
    mangle(response)

    reason = refused(ceremonies.verify_authentication, response, challenge, passkey.public_key, 0)
    assert clean(reason, challenge, passkey.credential_id)


def test_a_stored_key_that_is_not_a_key_is_a_refusal_not_a_crash(
    ceremonies, authenticator, passkey
):
    options, challenge = ceremonies.authentication_options([])
    response = authenticator.get(options)

    refused(ceremonies.verify_authentication, response, challenge, b"\xa1\x01\x02", 0)
    refused(ceremonies.verify_authentication, "not a dict", challenge, passkey.public_key, 0)
