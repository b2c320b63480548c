"""The notices of a member's passkeys (issue 20): one added, one removed, and the forgotten
credentials of a member who requires a passkey, whom no e-mail can let in. French, the FAQ's
tone; each says what to do when the member did not do it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from adapters.mail_render import Block, paragraph

if TYPE_CHECKING:
    from adapters.mail_messages import MailComposer


def _added(mail: MailComposer, _: datetime | None) -> tuple[str, list[Block]]:
    return "Une clé d'accès a été ajoutée à votre compte de l'Espace Client", [
        paragraph("Une nouvelle clé d'accès vient d'être ajoutée à votre compte : elle permet "
                  "de vous connecter sans mot de passe, depuis l'appareil qui la garde."),
        paragraph("Retrouvez vos clés d'accès et vos appareils connectés dans ",
                  mail.link("« Sécurité »", "/mon-espace/securite"), "."),
        paragraph("Si vous n'êtes pas à l'origine de cet ajout, supprimez cette clé, changez "
                  "votre mot de passe et ", mail.contact(), "."),
    ]


def _removed(mail: MailComposer, _: datetime | None) -> tuple[str, list[Block]]:
    return "Une clé d'accès a été supprimée de votre compte de l'Espace Client", [
        paragraph("Une clé d'accès vient d'être supprimée de votre compte : elle ne permet "
                  "plus de vous connecter."),
        paragraph("Retrouvez vos clés d'accès restantes dans ",
                  mail.link("« Sécurité »", "/mon-espace/securite"), "."),
        paragraph("Si vous n'êtes pas à l'origine de cette suppression, ", mail.contact(), "."),
    ]


def _recovery_refused(mail: MailComposer, _: datetime | None) -> tuple[str, list[Block]]:
    return "Votre demande de codes d'accès pour l'Espace Client", [
        paragraph("Nous avons reçu une demande de codes d'accès pour votre compte. Vous avez "
                  "choisi d'exiger une clé d'accès pour vous connecter : aucun mot de passe "
                  "temporaire n'est donc envoyé par e-mail."),
        paragraph("Connectez-vous avec votre clé d'accès, ou avec l'un de vos codes de secours "
                  "(« Utiliser un code de secours » sur ",
                  mail.link("la page de connexion", "/connexion"),
                  "). Si vous n'avez plus ni votre clé ni vos codes, ", mail.contact(), " : il "
                  "vérifiera votre identité avant de rétablir votre accès."),
        paragraph("Si vous n'êtes pas à l'origine de cette demande, vous pouvez ignorer ce "
                  "message : votre compte n'a pas été modifié."),
    ]


NOTICES = {
    "PasskeyAdded": _added,
    "PasskeyRemoved": _removed,
    "RecoveryRequested": _recovery_refused,  # only for passkey_required (domain/mail.py)
}
