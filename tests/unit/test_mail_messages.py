"""Every e-mail as the member gets it (adapters/mail_messages.py): a text and an HTML part that
say the same thing, the contract's lines byte-exact, links to the portal page that comes next
and to /contact, no secret in any URL, French typography."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email import message_from_bytes, policy

import pytest

from adapters.mail import seven_bit
from adapters.mail_french import NBSP, NNBSP, elides, euros, french, of, paris_time
from adapters.mail_messages import _CREDENTIALS_INTRO, NOTICE_EVENTS, MailComposer
from tests.helpers import ShownHtml, both_parts, html_of, received, text_of, urls_of, words

PORTAL = "https://espace.example.org"
MAIL = MailComposer("Espace Client <no-reply@example.org>", PORTAL + "/")  # the "/" is dropped
TO = "helene@example.org"
IDENTIFIER, PASSWORD, CODE = "12345678", "AbcdEfgh3j", "7KQ2M9XR4TZP8W3N"
LOCKED_UNTIL = datetime(2026, 12, 3, 16, 42, tzinfo=UTC)  # 17 h 42 in Paris (winter, UTC+1)
# Every reason a credentials request is made with (domain/use_cases).
REASONS = ["registration", "registration_retry", "identity_approved", "recovery",
           "support_resend", "email_update"]
CONTRACT_LINES = re.compile(
    r"^(Identifiant : \d{8}|Mot de passe temporaire : \w{10}|Code de vérification : \w{16}"
    r"|Référence de votre demande : [0-9A-F]{8})$"
)
REQUEST_ID = "3f1c1a52-35a5-4a4c-9a57-0d7b1f0f0c11"
REPLY = "Votre attestation fiscale vous est envoyée par courrier cette semaine."

# Each e-mail, and the pages beside /contact it leads to.
EMAILS = {
    **{f"credentials:{r}": (MAIL.credentials(TO, IDENTIFIER, PASSWORD, r), {"/connexion"})
       for r in REASONS},
    "verification": (MAIL.verification(TO, CODE), {"/verification-email"}),
    "notice:AccountLocked": (MAIL.notice(TO, "AccountLocked", LOCKED_UNTIL),
                             {"/codes-oublies", "/connexion"}),
    "notice:PasswordChanged": (MAIL.notice(TO, "PasswordChanged"), {"/codes-oublies"}),
    "notice:EmailChanged": (MAIL.notice(TO, "EmailChanged"), {"/codes-oublies"}),
    "notice:AccountClosed": (MAIL.notice(TO, "AccountClosed"), {"/activer"}),
    "notice:PasskeyAdded": (MAIL.notice(TO, "PasskeyAdded"), {"/mon-espace/securite"}),
    "notice:PasskeyRemoved": (MAIL.notice(TO, "PasskeyRemoved"), {"/mon-espace/securite"}),
    # Forgotten credentials of a member who requires a passkey: no password, what works.
    "notice:RecoveryRequested": (MAIL.notice(TO, "RecoveryRequested"), {"/connexion"}),
    "rejection": (MAIL.rejection(TO), {"/activer"}),
    "reimbursement_alert": (MAIL.reimbursement_alert(TO, "Hélène", "25.4", date(2026, 10, 1)),
                            {"/mon-espace/remboursements", "/mon-espace/infos"}),
    **{f"support_acknowledgement:{k}": (MAIL.support_acknowledgement(TO, REQUEST_ID, k), set())
       for k in ("email_update", "closure", "other")},
    # Every decision that is e-mailed (an accepted closure is told by its notice).
    **{f"support_decision:{k}:{a}": (
        MAIL.support_decision(TO, REQUEST_ID, k, a, REPLY),
        {"/codes-oublies"} if (k, a) == ("email_update", False) else set(),
    ) for k, a in (("other", True), ("other", False), ("email_update", True),
                   ("email_update", False), ("closure", False))},
}
# As written (RAW) and as their readers get them: the bytes parsed again.
RAW = {name: message for name, (message, _) in EMAILS.items()}
EMAILS = {name: (received(message), pages) for name, (message, pages) in EMAILS.items()}
every_email = pytest.mark.parametrize("name", EMAILS)


def test_every_notice_and_every_credentials_reason_has_its_email():
    assert {n.split(":")[1] for n in EMAILS if n.startswith("notice:")} == NOTICE_EVENTS
    assert set(_CREDENTIALS_INTRO) == set(REASONS)


@every_email
def test_each_email_is_a_text_and_an_html_part_saying_the_same(name):
    message, _ = EMAILS[name]
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    plain, html = both_parts(message)
    assert plain.startswith("Bonjour,")
    assert plain.endswith("Cordialement, Le support technique de l'Espace Client")
    assert plain == html


@every_email
def test_each_email_links_to_the_next_page_and_to_contact_with_clear_words(name):
    message, pages = EMAILS[name]
    urls = urls_of(message)
    assert {u.removeprefix(PORTAL) for u in urls} == pages | {"/contact"}
    assert all(u.startswith(PORTAL + "/") and "//" not in u.removeprefix("https://") for u in urls)
    html = html_of(message)
    contact = re.search(rf'<a href="{PORTAL}/contact"[^>]*>([^<]+)</a>', html)
    assert contact and "support technique" in contact.group(1)
    assert f"support technique <{PORTAL}/contact>" in words(text_of(message))


@every_email
def test_no_secret_is_ever_part_of_a_url(name):
    message, _ = EMAILS[name]
    for url in urls_of(message):
        for secret in (IDENTIFIER, PASSWORD, CODE):
            assert secret not in url, url


@every_email
def test_the_html_part_is_plain_accessible_html_with_nothing_from_outside(name):
    message, _ = EMAILS[name]
    html = html_of(message)
    assert '<html lang="fr">' in html
    assert f"<title>{message['Subject']}</title>" in html.replace("&#39;", "'")
    for outside in ("<img", "<link", "<script", "<style", "src=", "url("):
        assert outside not in html, outside
    shown = ShownHtml(html)
    assert shown.hrefs and all(shown.hrefs)


@every_email
def test_the_text_reads_with_cat_and_keeps_french_spacing_outside_the_contract_lines(name):
    message, _ = EMAILS[name]
    plain_part = message.get_body(("plain",))
    raw = plain_part.as_bytes()
    assert plain_part["Content-Transfer-Encoding"] == "8bit"
    assert plain_part.get_param("format") == "flowed"
    assert "é".encode() in raw and b"=C3" not in raw  # not quoted-printable: `cat` reads it
    for line in text_of(message).splitlines():
        assert len(line) <= 78, line
        if CONTRACT_LINES.match(line):
            continue
        prose = re.sub(r"<https?://[^>]+>", "", line)
        for wrong in (" :", " ;", " ?", " !", "« ", " »"):
            assert wrong not in prose, (wrong, line)


@pytest.mark.parametrize("reason", REASONS)
def test_the_credentials_lines_are_the_contracts_byte_for_byte(reason):
    message = received(MAIL.credentials(TO, IDENTIFIER, PASSWORD, reason))
    raw = message.get_body(("plain",)).as_bytes()
    assert f"\nIdentifiant : {IDENTIFIER}\nMot de passe temporaire : {PASSWORD}\n".encode() in raw
    body = text_of(message)
    assert re.search(r"^Identifiant : (\d{8})$", body, re.M).group(1) == IDENTIFIER
    assert re.search(r"^Mot de passe temporaire : (\S+)$", body, re.M).group(1) == PASSWORD


def test_the_verification_code_line_is_the_contracts():
    raw = received(MAIL.verification(TO, CODE)).get_body(("plain",)).as_bytes()
    assert f"\nCode de vérification : {CODE}\n".encode() in raw


def test_a_recovery_keeps_the_members_own_password_until_the_temporary_one_is_used():
    for reason in ("recovery", "support_resend", "email_update"):
        text = words(text_of(MAIL.credentials(TO, IDENTIFIER, PASSWORD, reason)))
        assert "première connexion" not in text, reason
        assert "À votre prochaine connexion avec ce mot de passe temporaire, vous devrez le " \
               "remplacer" in text
        assert "il reste valable tant que vous n'avez pas utilisé ce mot de passe temporaire" \
               in text
    for reason in ("registration", "registration_retry", "identity_approved"):
        text = words(text_of(MAIL.credentials(TO, IDENTIFIER, PASSWORD, reason)))
        assert "Lors de votre première connexion" in text, reason


def test_the_lock_notice_says_until_when_in_paris_time():
    text = words(text_of(EMAILS["notice:AccountLocked"][0]))
    assert f"bloqué jusqu'au 03/12/2026 à 17{NBSP}h{NBSP}42 (heure de Paris)" in text


def test_interpolated_values_are_escaped_in_the_html_part():
    message = MAIL.reimbursement_alert(TO, '<b>Zoé & "Léa"</b>', "10", date(2026, 10, 1))
    html = html_of(message)
    assert "<b>" not in html and "&lt;b&gt;Zoé &amp; &#34;Léa&#34;&lt;/b&gt;" in html
    plain, shown = both_parts(message)
    assert plain == shown


def test_the_alert_elides_de_before_a_vowel_and_gives_the_amount_in_french():
    text = words(text_of(EMAILS["reimbursement_alert"][0]))
    assert f"Un remboursement de 25,40{NBSP}€ a été versé pour les soins d'Hélène du 01/10/2026." \
        in text


# The French helpers.


@pytest.mark.parametrize(("name", "expected"), [
    ("Hélène", "d'Hélène"), ("Zoé", "de Zoé"), ("Émile", "d'Émile"), ("Ève", "d'Ève"),
    ("Œnone", "d'Œnone"), ("Hugo", "d'Hugo"), ("Yves", "d'Yves"), ("Yann", "de Yann"),
    ("Jean-François", "de Jean-François"), ("ulysse", "d'ulysse"), (" Anne ", "d'Anne"),
])
def test_of_elides_before_a_vowel_or_a_mute_h(name, expected):
    assert of(name) == expected


def test_an_empty_name_does_not_elide():
    assert not elides("") and not elides("Y")


def test_french_spaces_its_punctuation_once_and_leaves_urls_alone():
    text = 'Cliquez sur « Codes oubliés ? » : voilà ; merci ! Voir http://h:5000/x?a=1.'
    done = french(text)
    assert done == (f"Cliquez sur «{NNBSP}Codes oubliés{NNBSP}?{NNBSP}»{NBSP}: voilà{NNBSP}; "
                    f"merci{NNBSP}! Voir http://h:5000/x?a=1.")
    assert french(done) == done
    assert french("«Oui»:") == f"«{NNBSP}Oui{NNBSP}»{NBSP}:"


@pytest.mark.parametrize(("instant", "shown"), [
    (datetime(2026, 12, 3, 16, 42, tzinfo=UTC), "03/12/2026 à 17 h 42"),  # UTC+1
    (datetime(2026, 7, 14, 21, 5, tzinfo=UTC), "14/07/2026 à 23 h 05"),  # summer time, UTC+2
    (datetime(2026, 12, 31, 22, 59, 1, tzinfo=UTC), "01/01/2027 à 00 h 00"),  # the next minute
])
def test_paris_time_is_the_paris_wall_clock_rounded_up_to_the_minute(instant, shown):
    assert paris_time(instant) == shown.replace(" h ", f"{NBSP}h{NBSP}")


def test_euros_use_a_comma_and_french_spaces():
    assert euros("1234.5") == f"1{NNBSP}234,50{NBSP}€"
    assert euros("0.07") == f"0,07{NBSP}€"


def test_a_seven_bit_copy_for_an_old_server_says_the_same():
    message = MAIL.credentials(TO, IDENTIFIER, PASSWORD, "registration")
    flat = seven_bit(message).as_bytes()
    assert flat.isascii()
    again = message_from_bytes(flat, policy=policy.default)
    assert text_of(again) == text_of(message) and html_of(again) == html_of(message)
    assert bytes(message) != flat  # the message itself is still the 8bit one


def test_french_keeps_a_number_with_the_word_it_counts():
    assert french("valable 24 heures, le 03/12/2026 à 17 h") == (
        f"valable 24{NBSP}heures, le 03/12/2026 à 17 h"
    )


def test_french_spaces_a_mark_that_starts_a_segment_after_a_link():
    assert french(" : suite") == f"{NBSP}: suite" and french("? »") == f"{NNBSP}?{NNBSP}»"


@every_email
def test_the_headers_keep_to_the_line_and_encoded_word_lengths(name):
    flat = bytes(RAW[name]).split(b"\n\n", 1)[0].decode("ascii")  # headers: ASCII only
    assert all(len(line) <= 78 for line in flat.splitlines()), flat
    assert all(len(word) <= 75 for word in re.findall(r"=\?[^?]+\?[bqBQ]\?[^?]*\?=", flat))
