"""The portal's forms: typed dates, the API's schema errors, secrets never shown again."""

from __future__ import annotations

import pytest

from adapters.http.pages.forms import DAY_FORMAT, Form, typed_day
from adapters.http.portal import RegistrationSchema
from domain import errors as domain

HELENE = {
    "member_number": "m100 0001", "last_name": "Dupré-Lefèvre", "first_name": "Hélène",
    "birth_date": "12/04/1978", "email": " helene@example.org ", "secret_question": "",
    "secret_answer": "",
}


@pytest.mark.parametrize(("typed", "day"), [
    ("12/04/1978", "1978-04-12"), ("1/4/1978", "1978-04-01"), (" 12.04.1978 ", "1978-04-12"),
    ("12-04-1978", "1978-04-12"), ("1978-04-12", "1978-04-12"),
    ("31/02/1978", None), ("12/13/1978", None), ("1978", None), ("12/04/78", None), ("", None),
    ("١٢/٠٤/١٩٧٨", None),  # other scripts' digits are not what the hint asks for
])
def test_a_date_is_typed_jj_mm_aaaa(typed, day):
    assert typed_day(typed) == day


def test_a_form_loads_into_the_apis_request():
    form = Form(values=dict(HELENE))
    loaded = form.load(RegistrationSchema(), days=("birth_date",))
    assert loaded is not None and not form.refused
    assert loaded["member_number"] == "M1000001"
    assert loaded["birth_date"].isoformat() == "1978-04-12"
    assert "secret_question" not in loaded  # an empty optional field is an absent one


def test_a_refused_form_keeps_the_apis_field_messages_and_status():
    form = Form(values={**HELENE, "birth_date": "12/04", "email": "helene", "first_name": ""})
    assert form.load(RegistrationSchema(), days=("birth_date",)) is None
    assert form.status == 422 and form.message == "Certains champs sont absents ou invalides."
    assert form.errors["birth_date"] == [DAY_FORMAT]
    assert form.errors["first_name"] == ["Champ obligatoire."]
    assert set(form.errors) == {"birth_date", "email", "first_name"}


def test_only_a_question_with_its_answer_loads():
    form = Form(values={**HELENE, "secret_question": "Ma première école ?"})
    assert form.load(RegistrationSchema(), days=("birth_date",)) is None
    assert list(form.errors) == ["secret_answer"]


def test_secrets_are_never_written_back_into_a_page():
    form = Form(values={"password": "Mon mot de passe", "secret_answer": "Jules Ferry",
                        "token": "code", "new_password": "x", "email": "a@example.org"})
    assert [form.shown(name) for name in ("password", "secret_answer", "token", "new_password")] \
        == ["", "", "", ""]
    assert form.shown("email") == "a@example.org"


def test_a_use_case_refusal_becomes_the_apis_error():
    form = Form()
    form.run(lambda: (_ for _ in ()).throw(domain.WrongPasswordError("current_password")))
    assert (form.status, form.errors) == (422, {"current_password": ["Mot de passe incorrect."]})
    form = Form()
    form.run(lambda: (_ for _ in ()).throw(domain.CredentialsEmailCapError(3600)))
    assert (form.status, form.retry_after) == (429, 3600)
    form = Form()
    form.run(lambda: (_ for _ in ()).throw(domain.WeakPasswordError(["Trop court."])))
    assert (form.status, form.errors) == (422, {"new_password": ["Trop court."]})
