"""The e-mails to someone who wrote to support (adapters/mail_support.py), read as they get
them: the reference to quote in the subject and the text, what happens next in the FAQ's
words, the agent's reply in both parts, and nothing else of the request."""

from __future__ import annotations

import pytest

from adapters.mail_messages import MailComposer
from tests.helpers import both_parts, html_of, text_of, urls_of, words

PORTAL = "https://espace.example.org"
MAIL = MailComposer("Espace Client <no-reply@example.org>", PORTAL)
TO = "louise@example.org"
REQUEST_ID = "3f1c1a52-35a5-4a4c-9a57-0d7b1f0f0c11"
REFERENCE = "3F1C1A52"
REPLY = "Votre attestation fiscale vous est envoyée par courrier cette semaine."


@pytest.mark.parametrize("kind", ["email_update", "closure", "other"])
def test_the_acknowledgement_gives_the_reference_and_the_way_back_to_support(kind):
    message = MAIL.support_acknowledgement(TO, REQUEST_ID, kind)
    assert message["To"] == TO
    assert message["Subject"] == f"Votre demande au support technique (référence {REFERENCE})"
    text = words(text_of(message))
    assert "Nous avons bien reçu votre demande" in text
    assert f"\nRéférence de votre demande : {REFERENCE}\n" in text_of(message)
    assert (f"ne répondez pas à ce message : soumettez votre problème au support technique "
            f"<{PORTAL}/contact> en rappelant cette référence.") in text.replace("\u00a0", " ")
    assert urls_of(message) and set(urls_of(message)) == {f"{PORTAL}/contact"}
    assert REFERENCE in html_of(message)
    plain, html = both_parts(message)
    assert plain == html


def test_each_kind_of_request_is_acknowledged_with_what_comes_next():
    said = {
        kind: words(text_of(MAIL.support_acknowledgement(TO, REQUEST_ID, kind)))
        for kind in ("email_update", "closure", "other")
    }
    assert "vous recevrez à votre nouvelle adresse votre identifiant et un nouveau mot de passe " \
           "temporaire" in said["email_update"]
    assert "avant de clôturer le compte" in said["closure"]
    assert "Un conseiller l'étudie et vous répondra par e-mail." in said["other"]


@pytest.mark.parametrize(("kind", "accepted", "words_of_it"), [
    ("other", True, "a traité votre demande"),
    ("other", False, "n'a pas pu y donner suite"),
    ("email_update", True, "vous sont envoyés à cette adresse dans un message séparé"),
    ("email_update", False, "n'a pas été modifiée"),
    ("closure", False, "votre compte de l'Espace Client reste ouvert"),
])
def test_the_decision_says_what_support_decided_and_gives_the_reply(kind, accepted, words_of_it):
    message = MAIL.support_decision(TO, REQUEST_ID, kind, accepted, REPLY)
    assert message["Subject"] == (
        f"Réponse du support technique à votre demande (référence {REFERENCE})"
    )
    text = words(text_of(message))
    assert words_of_it in text
    assert f"Réponse du conseiller\u00a0: {REPLY}" in text
    assert f"Référence de votre demande : {REFERENCE}" in text
    assert f"{PORTAL}/contact" in urls_of(message)
    plain, html = both_parts(message)
    assert plain == html and REPLY in html


def test_a_decision_without_a_reply_says_only_the_decision():
    text = words(text_of(MAIL.support_decision(TO, REQUEST_ID, "other", False, None)))
    assert "Réponse du conseiller" not in text and "n'a pas pu y donner suite" in text


def test_a_refused_e_mail_update_points_to_the_secret_question_path():
    message = MAIL.support_decision(TO, REQUEST_ID, "email_update", False, None)
    assert "si vous avez enregistré une question secrète" in words(text_of(message)).lower()
    assert f"{PORTAL}/codes-oublies" in urls_of(message)


def test_the_reply_is_escaped_in_the_html_part():
    message = MAIL.support_decision(TO, REQUEST_ID, "other", True, '<a href="x">Zoé & Léa</a>')
    html = html_of(message)
    assert '<a href="x">' not in html and "&lt;a href=&#34;x&#34;&gt;Zoé &amp; Léa" in html
    plain, shown = both_parts(message)
    assert plain == shown
