"""The auditors' query and answer bodies (audit.py)."""

from __future__ import annotations

from marshmallow import fields, validate

from adapters.http.schemas import BaseSchema
from domain.use_cases.audit import STATUSES

FEED_MAX_LIMIT = 1000
BASE64_HASH = "^[A-Za-z0-9+/]{43}=$"  # 32 bytes
TREE_SIZE_MAX = 2**62
AT_INVALID = "Instant ISO 8601 avec décalage attendu."


def described(text: str) -> dict[str, str]:
    return {"description": text}


class AuditEventSchema(BaseSchema):
    position = fields.Integer(required=True)
    stream = fields.String(required=True)
    version = fields.Integer(required=True)
    type = fields.String(required=True)
    occurred_at = fields.String(required=True)
    actor = fields.String(allow_none=True)
    data = fields.Dict(required=True)
    hash = fields.String(required=True, metadata={
        "pattern": BASE64_HASH,
        "description": "L'empreinte SHA-256 de l'événement tel qu'il est enregistré, en "
        "base64 : celle que le chaînage garde, dont l'arbre de Merkle fait sa feuille "
        "(SHA-256(0x00 ‖ empreinte)). Ce n'est pas un secret.",
    })


class HistorySchema(BaseSchema):
    events = fields.List(fields.Nested(AuditEventSchema), required=True)


class FeedQuerySchema(BaseSchema):
    after = fields.Integer(
        load_default=0, validate=validate.Range(0, 2**62, error="Entier positif attendu."),
        error_messages={"invalid": "Nombre entier attendu."},
    )
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(1, FEED_MAX_LIMIT, error=f"Entre 1 et {FEED_MAX_LIMIT}."),
        error_messages={"invalid": "Nombre entier attendu."},
    )


class FeedSchema(BaseSchema):
    events = fields.List(fields.Nested(AuditEventSchema), required=True)
    next_after = fields.Integer(required=True)


class StateQuerySchema(BaseSchema):
    at = fields.AwareDateTime(
        required=True,
        error_messages={
            "required": "Champ obligatoire.",
            "null": "Champ obligatoire.",
            "invalid": AT_INVALID,
            "invalid_awareness": AT_INVALID,
            "format": AT_INVALID,
        },
    )


class AccountStateSchema(BaseSchema):
    """The account as the contract shows it at an instant: every key always present, nothing
    of the aggregate's own bookkeeping (hashes, counters, pending requests)."""

    status = fields.String(required=True, metadata={
        "enum": list(STATUSES),
        "description": "`locked` : un blocage après 5 mots de passe erronés est en cours à "
        "cet instant ; `closed` : compte clôturé.",
    })
    email = fields.String(
        required=True, metadata=described("L'adresse e-mail, ou « [effacé] » après effacement.")
    )
    must_change_password = fields.Boolean(
        required=True,
        metadata=described("Aucun mot de passe personnel : la prochaine connexion se fait avec "
                           "un mot de passe temporaire, à remplacer aussitôt."),
    )
    locked_until = fields.DateTime(
        required=True, allow_none=True,
        metadata=described("Fin du blocage en cours à cet instant ; null sans blocage."),
    )
    alerts = fields.Boolean(
        required=True, metadata=described("Alertes e-mail des remboursements demandées.")
    )
    secret_question = fields.String(
        required=True, allow_none=True,
        metadata=described("La question secrète (jamais la réponse), null sans question, "
                           "« [effacé] » après effacement."),
    )
    last_sign_in_at = fields.DateTime(
        required=True, allow_none=True,
        metadata=described("Dernière connexion réussie à cet instant ; null avant la première."),
    )


class StateAtSchema(BaseSchema):
    identifier = fields.String(required=True)
    at = fields.DateTime(required=True, metadata=described("L'instant demandé."))
    version = fields.Integer(
        required=True,
        metadata=described("Version du compte à cet instant : son dernier événement d'alors."),
    )
    state = fields.Nested(AccountStateSchema, required=True)


# --- The Merkle tree (RFC 9162): checkpoints and proofs (audit_proofs.py).


def tree_size(required: str, **kwargs: object) -> fields.Integer:
    return fields.Integer(
        required=True, validate=validate.Range(1, TREE_SIZE_MAX, error=required),
        error_messages={"required": "Champ obligatoire.", "null": "Champ obligatoire.",
                        "invalid": "Nombre entier attendu."},
        **kwargs,
    )


def hash_list(text: str) -> fields.List:
    return fields.List(
        fields.String(metadata={"pattern": BASE64_HASH}), required=True, metadata=described(text)
    )


class CheckpointSchema(BaseSchema):
    size = fields.Integer(required=True, metadata=described("Nombre de feuilles de l'arbre."))
    root_hash = fields.String(required=True, metadata={
        "pattern": BASE64_HASH, "description": "La racine de l'arbre (RFC 9162), en base64.",
    })
    checkpoint = fields.String(required=True, metadata=described(
        "Le point de contrôle signé, au format C2SP tlog-checkpoint : origine, taille, racine "
        "en base64, une ligne vide, puis la signature Ed25519 `— <nom> <base64(empreinte de la "
        "clé sur 4 octets ‖ signature)>`."
    ))


class PublicKeySchema(BaseSchema):
    origin = fields.String(required=True, metadata=described(
        "L'origine du journal : la première ligne de chaque point de contrôle, et le nom de "
        "la clé dans sa signature."
    ))
    public_key = fields.String(required=True, metadata=described(
        "La clé publique Ed25519 brute (32 octets), en base64."
    ))


class InclusionQuerySchema(BaseSchema):
    size = tree_size("Entier de 1 au moins attendu.")


class InclusionSchema(BaseSchema):
    position = fields.Integer(required=True, metadata=described("La position de l'événement."))
    leaf_index = fields.Integer(required=True, metadata=described(
        "Son rang parmi les feuilles, à partir de 0 : le nombre d'événements avant lui."
    ))
    size = fields.Integer(required=True, metadata=described("La taille de l'arbre prouvé."))
    hashes = hash_list("La preuve d'inclusion PATH(m, D[n]) de la RFC 9162, de la feuille vers "
                       "la racine, en base64.")


class ConsistencyQuerySchema(BaseSchema):
    first = tree_size("Entier de 1 au moins attendu.", data_key="from")
    second = tree_size("Entier de 1 au moins attendu.", data_key="to")


class ConsistencySchema(BaseSchema):
    first = fields.Integer(required=True, data_key="from")
    second = fields.Integer(required=True, data_key="to")
    hashes = hash_list("La preuve de cohérence PROOF(m, D[n]) de la RFC 9162, en base64 ; "
                       "vide quand les deux tailles sont égales.")
