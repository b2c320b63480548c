"""The auditors' Merkle tree (RFC 9162): the signed checkpoint of the log, the key that
verifies it, inclusion and consistency proofs (CONTRACT.md, "Audit", signed checkpoints).
Role auditor, read-only, under the audit API's prefix."""

from __future__ import annotations

import base64
from typing import Any

from flask.views import MethodView

from adapters.audit_proofs import NotInTheTreeError
from adapters.http import Blueprint, examples
from adapters.http.audit_schemas import (
    TREE_SIZE_MAX,
    CheckpointSchema,
    ConsistencyQuerySchema,
    ConsistencySchema,
    InclusionQuerySchema,
    InclusionSchema,
    PublicKeySchema,
)
from adapters.http.auth import BEARER, require_staff
from adapters.http.errors import ApiError
from adapters.http.openapi import BEARER_ERRORS, documented_errors
from adapters.http.services import services

blp = Blueprint(
    "audit_tree", __name__, url_prefix="/api/v1/audit", description="Audit : arbre de Merkle"
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@blp.route("/checkpoint")
class Checkpoint(MethodView):
    @require_staff("auditor")
    @blp.response(200, CheckpointSchema, example=examples.CHECKPOINT)
    @documented_errors(blp, *BEARER_ERRORS)
    @blp.doc(**BEARER)
    def get(self) -> dict[str, Any]:
        """Point de contrôle signé du journal

        La taille et la racine de l'arbre de Merkle (RFC 9162) de tous les événements, dans
        l'ordre du journal, et le point de contrôle signé par le service (Ed25519, format
        C2SP tlog-checkpoint) ; à garder pour demander plus tard la preuve que le journal
        l'a prolongé sans rien réécrire.
        """
        signed = services().audit_proofs.checkpoint()
        return {"size": signed.size, "root_hash": b64(signed.root), "checkpoint": signed.note}


@blp.route("/public-key")
class PublicKey(MethodView):
    @require_staff("auditor")
    @blp.response(200, PublicKeySchema, example=examples.PUBLIC_KEY)
    @documented_errors(blp, *BEARER_ERRORS)
    @blp.doc(**BEARER)
    def get(self) -> dict[str, Any]:
        """Clé publique des points de contrôle

        L'origine du journal et la clé publique Ed25519 qui vérifie ses points de contrôle :
        à conserver de son côté, pour vérifier sans faire confiance au service.
        """
        signer = services().audit_proofs.signer
        return {"origin": signer.origin, "public_key": b64(signer.public_key)}


@blp.route("/events/<position>/inclusion")
class Inclusion(MethodView):
    @require_staff("auditor")
    @blp.arguments(InclusionQuerySchema, location="query")
    @blp.response(200, InclusionSchema, example=examples.INCLUSION)
    @documented_errors(
        blp, *BEARER_ERRORS, "validation_error", "not_found",
        invalid=("size", "L'événement 5 est la feuille 4 : il n'est pas dans l'arbre des 3 "
                 "premières."),
        validation_error="`size` absent, plus petit que 1, plus grand que l'arbre, ou qui ne "
        "contient pas encore l'événement.",
        not_found="Aucun événement à cette position.",
    )
    @blp.doc(**BEARER)
    def get(self, query: dict[str, Any], position: str) -> dict[str, Any]:
        """Preuve d'inclusion d'un événement

        La preuve (RFC 9162) que l'événement à cette position est une feuille de l'arbre des
        `size` premiers événements : avec son empreinte (`hash` dans l'historique ou le
        journal), elle redonne la racine d'un point de contrôle de cette taille.
        """
        # Read after the token is checked, as every identifier in a path is.
        if not position.isascii() or not position.isdigit() or int(position) > TREE_SIZE_MAX:
            raise ApiError("not_found")
        try:
            proof = services().audit_proofs.inclusion(int(position), query["size"])
        except NotInTheTreeError:
            raise ApiError("not_found") from None
        return {
            "position": proof.position, "leaf_index": proof.leaf_index, "size": proof.size,
            "hashes": [b64(h) for h in proof.hashes],
        }


@blp.route("/consistency")
class Consistency(MethodView):
    @require_staff("auditor")
    @blp.arguments(ConsistencyQuerySchema, location="query")
    @blp.response(200, ConsistencySchema, example=examples.CONSISTENCY)
    @documented_errors(
        blp, *BEARER_ERRORS, "validation_error",
        invalid=("from", "`from` ne peut pas dépasser `to`."),
        validation_error="`from` ou `to` absent ou plus petit que 1, `from` plus grand que "
        "`to`, ou `to` plus grand que l'arbre.",
    )
    @blp.doc(**BEARER)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Preuve de cohérence entre deux tailles

        La preuve (RFC 9162) que l'arbre de la plus grande des deux tailles prolonge celui de
        la plus petite sans en rien changer : entre deux points de contrôle, elle montre
        qu'aucun événement n'a été modifié, retiré, inséré ou déplacé.
        """
        first, second = query["first"], query["second"]
        hashes = services().audit_proofs.consistency(first, second)  # FieldError: 422
        return {"first": first, "second": second, "hashes": [b64(h) for h in hashes]}
