"""What each e-mail says (French, the FAQ's words), and the portal page it leads to next; the
e-mails to someone who wrote to support are in mail_support.py.

No secret ever goes into a URL: a temporary password or a code is only in the prose, where
the member copies it from; links lead to pages where it is typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from email.message import Message

from adapters import mail_passkeys, mail_support
from adapters.mail_french import euros, of, paris_time
from adapters.mail_render import Block, Codes, Link, compose, paragraph

# Reasons of a credentials request (domain/use_cases): why the member gets this e-mail.
_CREDENTIALS_INTRO = {
    "registration": "Votre inscription à l'Espace Client est enregistrée. "
    "Voici vos codes d'accès.",
    "registration_retry": "Vous avez recommencé votre inscription à l'Espace Client. "
    "Votre identifiant reste le même ; voici un nouveau mot de passe temporaire, qui "
    "remplace celui reçu auparavant.",
    "identity_approved": "Le support technique a validé votre identification : votre compte "
    "de l'Espace Client est activé. Voici vos codes d'accès.",
    "recovery": "Vous avez demandé la restitution de vos codes d'accès à l'Espace Client. "
    "Voici votre identifiant et un nouveau mot de passe temporaire.",
    "support_resend": "Le support technique vous envoie votre identifiant et un nouveau mot "
    "de passe temporaire pour l'Espace Client.",
    "email_update": "Le support technique a enregistré votre nouvelle adresse e-mail. Voici "
    "votre identifiant et un nouveau mot de passe temporaire pour l'Espace Client.",
}
# An account of these reasons has never been signed into. Any other may have a password of
# the member's own, which keeps working until the temporary one is used (CONTRACT "Recovery").
_FIRST_SIGN_IN = frozenset({"registration", "registration_retry", "identity_approved"})
_VALID_FOR = "Ce mot de passe temporaire est valable 24 heures"
_FIRST_TIME = (
    f"{_VALID_FOR}. Lors de votre première connexion, vous devrez le remplacer par un mot de "
    "passe de votre choix."
)
_NEXT_TIME = (
    f"{_VALID_FOR} et remplace tout mot de passe temporaire reçu auparavant. À votre prochaine "
    "connexion avec ce mot de passe temporaire, vous devrez le remplacer par un mot de passe "
    "de votre choix. Si vous aviez déjà choisi votre propre mot de passe, il reste valable "
    "tant que vous n'avez pas utilisé ce mot de passe temporaire."
)
_NOT_YOU = "Si vous n'êtes pas à l'origine de cette demande, "


@dataclass(frozen=True)
class MailComposer:
    """The e-mails, from this sender, with links into the portal at `portal_url`."""

    sender: str
    portal_url: str

    def page(self, path: str) -> str:
        return self.portal_url.rstrip("/") + path

    def link(self, text: str, path: str) -> Link:
        return Link(text, self.page(path))

    def contact(self, words: str = "contactez le support technique") -> Link:
        return self.link(words, "/contact")

    def compose(self, to: str, subject: str, *blocks: Block) -> Message:
        return compose(self.sender, to, subject, list(blocks))

    def credentials(
        self, to: str, identifier: str, temporary_password: str, reason: str
    ) -> Message:
        # An unknown reason gets the words that hold for every account.
        intro = _CREDENTIALS_INTRO.get(reason, "Voici vos codes d'accès à l'Espace Client.")
        return self.compose(
            to, "Vos codes d'accès à l'Espace Client",
            paragraph(intro),
            Codes((("Identifiant", identifier), ("Mot de passe temporaire", temporary_password))),
            paragraph(_FIRST_TIME if reason in _FIRST_SIGN_IN else _NEXT_TIME,
                      " Respectez la casse (minuscules et majuscules) en le saisissant, ou "
                      "copiez-le depuis cet e-mail."),
            paragraph(self.link("Se connecter à l'Espace Client", "/connexion")),
            paragraph("Votre identifiant est personnel et ne change jamais. Nous ne pouvons pas "
                      "vous renvoyer votre mot de passe : en cas d'oubli, cliquez sur « Codes "
                      "d'accès oubliés ? » sur la page de connexion."),
            paragraph(_NOT_YOU, self.contact(), "."),
        )

    def verification(self, to: str, code: str) -> Message:
        return self.compose(
            to, "Confirmez votre nouvelle adresse e-mail",
            paragraph("Vous avez demandé à utiliser cette adresse pour votre compte de l'Espace "
                      "Client (rubrique « Modifier mes infos »). Pour confirmer le changement, "
                      "saisissez ce code sur la page de vérification, depuis l'appareil de "
                      "votre choix :"),
            Codes((("Code de vérification", code),)),
            paragraph("Ce code est valable 24 heures et ne sert qu'une fois. Votre identifiant "
                      "ne change pas."),
            paragraph(self.link("Confirmer ma nouvelle adresse e-mail", "/verification-email")),
            paragraph(_NOT_YOU, "ignorez ce message : votre adresse actuelle reste "
                      "enregistrée. Pour toute question, ", self.contact(), "."),
        )

    def notice(
        self, to: str, event_type: str, locked_until: datetime | None = None
    ) -> Message:
        subject, blocks = _NOTICES[event_type](self, locked_until)
        return self.compose(to, subject, *blocks)

    def rejection(self, to: str) -> Message:
        return self.compose(
            to, "Votre demande d'inscription à l'Espace Client",
            paragraph("Les nom et prénom saisis lors de votre demande d'inscription à l'Espace "
                      "Client ne correspondaient pas à nos fichiers, et le support technique n'a "
                      "pas pu valider votre identification : votre demande d'inscription a été "
                      "rejetée."),
            paragraph("Vous pouvez recommencer la procédure ",
                      self.link("« Activer mon compte »", "/activer"),
                      " en saisissant vos nom et prénom tels qu'ils figurent sur vos relevés, "
                      "ou ", self.contact("contacter le support technique"), "."),
        )

    def support_acknowledgement(self, to: str, request_id: object, kind: str) -> Message:
        return mail_support.acknowledgement(self, to, request_id, kind)

    def support_decision(
        self, to: str, request_id: object, kind: str, accepted: bool, reply: str | None = None
    ) -> Message:
        return mail_support.decision(self, to, request_id, kind, accepted, reply)

    def reimbursement_alert(
        self, to: str, beneficiary_first_name: str, amount: str, care_date: date
    ) -> Message:
        # Amount, date and first name only: an alert carries no other personal data.
        return self.compose(
            to, "Nouveau remboursement santé",
            paragraph(f"Un remboursement de {euros(amount)} a été versé pour les soins "
                      f"{of(beneficiary_first_name)} du {care_date:%d/%m/%Y}."),
            paragraph("Retrouvez ",
                      self.link("le détail de vos remboursements", "/mon-espace/remboursements"),
                      " dans votre Espace Client, rubrique « Votre complémentaire santé »."),
            paragraph("Vous recevez ce message parce que vous avez activé les alertes e-mail de "
                      "remboursement ; vous pouvez les désactiver à tout moment depuis ",
                      self.link("« Modifier mes infos »", "/mon-espace/infos"),
                      ". Pour toute question, ", self.contact(), "."),
        )


# Notices: what an event of the member's account did, told to the member.


def _locked(mail: MailComposer, until: datetime | None) -> tuple[str, list[Block]]:
    # Without its end (an event that lacked it), the notice still says what to do.
    how_long = f"jusqu'au {paris_time(until)} (heure de Paris)" if until else "pendant 15 minutes"
    return "Votre compte de l'Espace Client est temporairement bloqué", [
        paragraph("À la suite de 5 tentatives de connexion infructueuses, l'accès à votre "
                  f"compte est bloqué {how_long}."),
        paragraph("Si vous avez oublié votre mot de passe, cliquez sur ",
                  mail.link("« Codes d'accès oubliés ? »", "/codes-oublies"),
                  ". Sinon, vous pourrez de nouveau ",
                  mail.link("vous connecter à l'Espace Client", "/connexion"),
                  " à la fin du blocage."),
        paragraph("Si vous n'êtes pas à l'origine de ces tentatives, ", mail.contact(), "."),
    ]


def _password_changed(mail: MailComposer, _: datetime | None) -> tuple[str, list[Block]]:
    return "Votre mot de passe de l'Espace Client a été modifié", [
        paragraph("Le mot de passe de votre compte vient d'être modifié. Les autres connexions "
                  "ouvertes ont été fermées."),
        paragraph("Si vous n'êtes pas à l'origine de ce changement, cliquez sans attendre sur ",
                  mail.link("« Codes d'accès oubliés ? »", "/codes-oublies"), " et ",
                  mail.contact(), "."),
    ]


def _closed(mail: MailComposer, _: datetime | None) -> tuple[str, list[Block]]:
    return "Votre compte de l'Espace Client est clôturé", [
        paragraph("Conformément à votre demande, votre compte de l'Espace Client est clôturé : "
                  "votre identifiant ne permet plus de vous connecter et vos données "
                  "personnelles ont été effacées de nos fichiers de l'Espace Client."),
        paragraph("Vos contrats ne sont pas concernés et vous continuez à recevoir vos relevés "
                  "par courrier. Vous pouvez ouvrir un nouveau compte à tout moment avec ",
                  mail.link("« Activer mon compte »", "/activer"), "."),
        paragraph("Si vous n'êtes pas à l'origine de cette demande, ", mail.contact(), "."),
    ]


def _email_changed(mail: MailComposer, _: datetime | None) -> tuple[str, list[Block]]:
    return "L'adresse e-mail de votre compte de l'Espace Client a été modifiée", [
        paragraph("L'adresse e-mail enregistrée pour votre compte a été remplacée par une "
                  "nouvelle adresse. Ce message est envoyé à votre ancienne adresse pour vous en "
                  "informer ; vous n'y recevrez plus nos messages."),
        paragraph("Si vous n'êtes pas à l'origine de ce changement, cliquez sans attendre sur ",
                  mail.link("« Codes d'accès oubliés ? »", "/codes-oublies"),
                  ", où vous pourrez indiquer une nouvelle adresse si vous avez enregistré une "
                  "question secrète. Sinon, ", mail.contact(), "."),
    ]


_NOTICES = {
    "AccountLocked": _locked,
    "PasswordChanged": _password_changed,
    "AccountClosed": _closed,
    "EmailChanged": _email_changed,
    **mail_passkeys.NOTICES,
}
NOTICE_EVENTS = frozenset(_NOTICES)
