"""What the e-mails to someone who wrote to support say (French, the FAQ's words): that their
request is received, with the reference to quote, then how support decided it, with the
agent's reply. Only the reference, the kind of request and the reply go in: the request's
other details stay out of an e-mail that may reach whoever owns the address they typed."""

from __future__ import annotations

from email.message import Message
from typing import TYPE_CHECKING

from adapters.mail_render import Block, Codes, Paragraph, paragraph
from domain.support_request import support_reference

if TYPE_CHECKING:
    from adapters.mail_messages import MailComposer

_RECEIVED = {
    "email_update": "Nous avons bien reçu votre demande de changement d'adresse e-mail pour "
    "votre compte de l'Espace Client. Pour la sécurité de votre compte, le support technique "
    "vérifie votre identité avant de modifier votre adresse : si votre demande est acceptée, "
    "vous recevrez à votre nouvelle adresse votre identifiant et un nouveau mot de passe "
    "temporaire.",
    "closure": "Nous avons bien reçu votre demande de clôture de votre compte de l'Espace "
    "Client. Le support technique vérifie votre identité avant de clôturer le compte ; vous "
    "serez informé par e-mail de sa décision.",
    "other": "Nous avons bien reçu votre demande au support technique de l'Espace Client. Un "
    "conseiller l'étudie et vous répondra par e-mail.",
}
# By (kind, accepted). An accepted closure is told by the closure notice, never by these.
_DECIDED = {
    ("other", True): "Le support technique de l'Espace Client a traité votre demande.",
    ("other", False): "Le support technique de l'Espace Client a étudié votre demande, mais "
    "n'a pas pu y donner suite.",
    ("email_update", True): "Le support technique a enregistré la nouvelle adresse e-mail de "
    "votre compte de l'Espace Client : votre identifiant et un nouveau mot de passe temporaire "
    "vous sont envoyés à cette adresse dans un message séparé.",
    ("email_update", False): "Le support technique n'a pas pu donner suite à votre demande de "
    "changement d'adresse e-mail : l'adresse enregistrée pour votre compte de l'Espace Client "
    "n'a pas été modifiée.",
    ("closure", False): "Le support technique n'a pas pu donner suite à votre demande de "
    "clôture : votre compte de l'Espace Client reste ouvert.",
}


def _reference(request_id: object) -> Codes:
    return Codes((("Référence de votre demande", support_reference(str(request_id))),))


def _write_again(mail: MailComposer) -> Paragraph:
    # The sender is a no-reply address: an answer to the e-mail would be lost.
    return paragraph("Pour écrire de nouveau au sujet de cette demande, ne répondez pas à ce "
                     "message : ", mail.contact("soumettez votre problème au support technique"),
                     " en rappelant cette référence.")


def acknowledgement(mail: MailComposer, to: str, request_id: object, kind: str) -> Message:
    reference = support_reference(str(request_id))
    return mail.compose(
        to, f"Votre demande au support technique (référence {reference})",
        paragraph(_RECEIVED.get(kind, _RECEIVED["other"])),
        _reference(request_id),
        _write_again(mail),
        paragraph("Si vous n'êtes pas à l'origine de cette demande, signalez-le de la même "
                  "façon au support technique."),
    )


def decision(
    mail: MailComposer, to: str, request_id: object, kind: str, accepted: bool,
    reply: str | None,
) -> Message:
    reference = support_reference(str(request_id))
    blocks: list[Block] = [
        paragraph(_DECIDED.get((kind, accepted), _DECIDED["other", accepted])),
    ]
    if reply:
        blocks += [paragraph("Réponse du conseiller :"), paragraph(reply)]
    if (kind, accepted) == ("email_update", False):
        blocks.append(paragraph(
            "Si vous avez enregistré une question secrète, vous pouvez aussi indiquer une "
            "nouvelle adresse e-mail pendant la procédure ",
            mail.link("« Codes d'accès oubliés ? »", "/codes-oublies"), "."))
    return mail.compose(
        to, f"Réponse du support technique à votre demande (référence {reference})",
        *blocks, _reference(request_id), _write_again(mail),
    )
