"""E-mail: French templates, and the file: and smtp:// senders."""

from __future__ import annotations

import os
import smtplib
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Protocol

from adapters.settings import Mail

SIGNATURE = "\n\nCordialement,\nLe support technique de l'Espace Client\n"


class MailSender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class FileMailSender:
    """One .eml file per message: the embedded default, readable with any mail client."""

    def __init__(self, directory: Path):
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        final = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        partial = final.with_suffix(".tmp")
        partial.write_bytes(bytes(message))
        # A reader never sees half a message: the rename is atomic.
        os.replace(partial, final)


class SmtpMailSender:
    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.host = host
        self.port = port
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(message)


def mail_sender(settings: Mail) -> MailSender:
    if settings.kind == "file":
        assert settings.directory is not None
        return FileMailSender(settings.directory)
    return SmtpMailSender(settings.host, settings.port)


def _message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or None)
    message.set_content(body + SIGNATURE, charset="utf-8")
    return message


_CREDENTIALS_INTRO = {
    "registration": "Votre inscription à l'Espace Client est enregistrée. Voici vos codes d'accès.",
    "registration_retry": "Vous avez recommencé votre inscription à l'Espace Client. "
    "Voici vos nouveaux codes d'accès ; ceux reçus auparavant ne sont plus valables.",
    "identity_approved": "Le support technique a validé votre identification. "
    "Voici vos codes d'accès à l'Espace Client.",
    "recovery": "Vous avez demandé la restitution de vos codes d'accès à l'Espace Client.",
    "support_resend": "Le support technique vous renvoie vos codes d'accès à l'Espace Client.",
    "email_update": "Votre adresse e-mail a été mise à jour par le support technique. "
    "Voici vos codes d'accès à l'Espace Client.",
}


def credentials_email(
    sender: str, to: str, identifier: str, temporary_password: str, reason: str
) -> EmailMessage:
    intro = _CREDENTIALS_INTRO.get(reason, _CREDENTIALS_INTRO["registration"])
    body = (
        "Bonjour,\n\n"
        f"{intro}\n\n"
        f"Identifiant : {identifier}\n"
        f"Mot de passe temporaire : {temporary_password}\n\n"
        "Ce mot de passe temporaire est valable 24 heures. Lors de votre première connexion, "
        "vous devrez le remplacer par un mot de passe de votre choix.\n"
        "Respectez la casse (minuscules et majuscules) en le saisissant, ou copiez-le depuis "
        "cet e-mail.\n\n"
        "Votre identifiant est personnel et ne change jamais. Nous ne pouvons pas vous "
        "renvoyer votre mot de passe : en cas d'oubli, cliquez sur « Codes d'accès oubliés ? » "
        "sur la page de connexion.\n\n"
        "Si vous n'êtes pas à l'origine de cette demande, contactez le support technique."
    )
    return _message(sender, to, "Vos codes d'accès à l'Espace Client", body)


def verification_email(sender: str, to: str, code: str) -> EmailMessage:
    body = (
        "Bonjour,\n\n"
        "Vous avez demandé à utiliser cette adresse pour votre compte de l'Espace Client "
        "(rubrique « Modifier mes infos »). Pour confirmer le changement, saisissez ce code "
        "sur le site, depuis l'appareil de votre choix :\n\n"
        f"Code de vérification : {code}\n\n"
        "Ce code est valable 24 heures et ne sert qu'une fois. Votre identifiant ne change pas.\n\n"
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre adresse "
        "actuelle reste enregistrée."
    )
    return _message(sender, to, "Confirmez votre nouvelle adresse e-mail", body)


_NOTICES = {
    "AccountLocked": (
        "Votre compte de l'Espace Client est temporairement bloqué",
        "À la suite de 5 tentatives de connexion infructueuses, l'accès à votre compte est "
        "bloqué pendant 15 minutes.\n\nSi vous avez oublié votre mot de passe, cliquez sur "
        "« Codes d'accès oubliés ? » sur la page de connexion. Si vous n'êtes pas à l'origine "
        "de ces tentatives, contactez le support technique.",
    ),
    "PasswordChanged": (
        "Votre mot de passe de l'Espace Client a été modifié",
        "Le mot de passe de votre compte vient d'être modifié. Les autres connexions ouvertes "
        "ont été fermées.\n\nSi vous n'êtes pas à l'origine de ce changement, cliquez sans "
        "attendre sur « Codes d'accès oubliés ? » et contactez le support technique.",
    ),
    "AccountClosed": (
        "Votre compte de l'Espace Client est clôturé",
        "Conformément à votre demande, votre compte de l'Espace Client est clôturé : votre "
        "identifiant ne permet plus de vous connecter et vos données personnelles ont été "
        "effacées de nos fichiers de l'Espace Client.\n\nVos contrats ne sont pas concernés et "
        "vous continuez à recevoir vos relevés par courrier. Vous pouvez réactiver un compte à "
        "tout moment avec « Activer mon compte ».",
    ),
    "EmailChanged": (
        "L'adresse e-mail de votre compte de l'Espace Client a été modifiée",
        "L'adresse e-mail enregistrée pour votre compte a été remplacée par une nouvelle "
        "adresse. Ce message est envoyé à votre ancienne adresse pour vous en informer ; "
        "vous n'y recevrez plus nos messages.\n\nSi vous n'êtes pas à l'origine de ce "
        "changement, contactez sans attendre le support technique.",
    ),
}

NOTICE_EVENTS = frozenset(_NOTICES)


def notice_email(sender: str, to: str, event_type: str) -> EmailMessage:
    subject, text = _NOTICES[event_type]
    return _message(sender, to, subject, f"Bonjour,\n\n{text}")


def rejection_email(sender: str, to: str) -> EmailMessage:
    body = (
        "Bonjour,\n\n"
        "Les nom et prénom saisis lors de votre demande d'inscription à l'Espace Client ne "
        "correspondaient pas à nos fichiers, et le support technique n'a pas pu valider votre "
        "identification : votre demande d'inscription a été rejetée.\n\n"
        "Vous pouvez recommencer la procédure « Activer mon compte » en saisissant vos nom et "
        "prénom tels qu'ils figurent sur vos relevés, ou contacter le support technique."
    )
    return _message(sender, to, "Votre demande d'inscription à l'Espace Client", body)


def reimbursement_alert_email(
    sender: str, to: str, beneficiary_first_name: str, amount: str, care_date: str
) -> EmailMessage:
    # Amount, date and first name only: an alert carries no other personal data.
    euros = amount.replace(".", ",")
    body = (
        "Bonjour,\n\n"
        f"Un remboursement de {euros} € a été versé pour les soins de {beneficiary_first_name} "
        f"du {care_date}.\n\n"
        "Retrouvez le détail de vos remboursements dans votre Espace Client, rubrique "
        "« Votre complémentaire santé ».\n\n"
        "Vous recevez ce message parce que vous avez activé les alertes e-mail de "
        "remboursement ; vous pouvez les désactiver à tout moment depuis votre Espace Client."
    )
    return _message(sender, to, "Nouveau remboursement santé", body)
