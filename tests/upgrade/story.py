"""A few weeks of the portal's life on the previous release, told through its HTTP API, and what
the next release must still answer about it. Demo members (demo/members.csv) only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.helpers import days_ago
from tests.upgrade.mailbox import Mailbox, credentials, verification_code
from tests.upgrade.releases import Api, Fleet

SUPPORT, CLAIMS, AUDITOR = "agent", "flux-sante", "auditrice"


@dataclass
class Member:
    number: str
    last_name: str
    first_name: str
    birth_date: str
    email: str
    identifier: str = ""
    password: str = ""  # the current one: temporary until the member sets their own
    temporary: bool = True
    open: bool = False

    def identity(self) -> dict[str, str]:
        return {"member_number": self.number, "last_name": self.last_name,
                "first_name": self.first_name, "birth_date": self.birth_date}


def demo_members() -> dict[str, Member]:
    rows = {
        "helene": ("M1000001", "Dupré-Lefèvre", "Hélène", "1978-04-12"),  # health, alerts
        "aminata": ("M1000005", "N'Diaye", "Aminata", "1985-06-03"),  # recovery
        "eloise": ("M1000008", "Cœurdevey", "Éloïse", "1990-01-15"),  # review, approved
        "beatrice": ("M1000009", "L'Hôte", "Béatrice", "1951-03-22"),  # review, rejected
        "marc": ("M1000010", "Saint-Exupéry", "Marc-Antoine", "1948-07-04"),  # new e-mail
        "sven": ("M1000016", "Ångström", "Sven", "1973-12-01"),  # closure with erasure
        "charles": ("M1000017", "D'Artagnan", "Charles", "1944-06-06"),  # failed sign-ins
        "jurgen": ("M1000020", "Müller", "Jürgen", "1958-07-27"),  # locked, unlocked
        "anais": ("M1000014", "Lefèbvre", "Anaïs", "1982-02-28"),  # never signed in
        "louise": ("M1000012", "Martin", "Louise", "1995-05-05"),  # not eligible
        "eve": ("M1000023", "Fontaine", "Ève", "1939-01-31"),  # a support request
        "gwen": ("M1000021", "Le Goff", "Gwénaëlle", "1979-10-02"),  # registers on the new one
    }
    return {key: Member(*row, email=f"{key}@example.org") for key, row in rows.items()}


# Passwords of the members' own choosing: long, uncommon, free of their names and e-mails.
PHRASES = (
    "Trois hérons guettent l'aube sous le vieux pont",
    "Le phare clignote au loin quand la brume se lève",
    "Une tortue patiente traverse le jardin potager",
    "Les cigales chantent fort derrière la colline rousse",
    "Un violon désaccordé joue sur la place du village",
    "La bibliothèque ferme tôt les jours de grand vent",
    "Des cerfs-volants dansent au-dessus de la plage grise",
    "Le boulanger pétrit sa pâte avant que le coq chante",
    "Quatre mouettes se disputent une sardine au port",
)
NEW_EMAIL = "marc.nouvelle-adresse@example.org"


@dataclass
class Story:
    api: Api
    fleet: Fleet
    mailbox: Mailbox
    tokens: dict[str, str]  # staff tokens by staff name, made by the previous release's CLI
    members: dict[str, Member] = field(default_factory=demo_members)
    registrations: dict[str, str] = field(default_factory=dict)  # decided reviews: id -> status
    closure_request: str = ""
    open_request: str = ""
    reimbursements: list[str] = field(default_factory=list)
    phrases: Iterator[str] = field(default_factory=lambda: iter(PHRASES))

    def register(self, key: str, expect_status: str, **declared: str) -> dict[str, Any]:
        member = self.members[key]
        body = {**member.identity(), "email": member.email, **declared}
        answer = self.api.call("POST", "/api/v1/registrations", body, expect=201)
        assert answer["status"] == expect_status, (key, answer)
        return answer

    def receive_credentials(self, key: str) -> None:
        member = self.members[key]
        message = self.mailbox.take(self.fleet, member.email, "credentials")
        identifier, member.password = credentials(message)
        assert member.identifier in ("", identifier), (key, member.identifier, identifier)
        member.identifier, member.temporary, member.open = identifier, True, True

    def sign_in(self, key: str, password: str | None = None, expect: int = 201) -> Any:
        member = self.members[key]
        body = {"identifier": member.identifier, "password": password or member.password}
        return self.api.call("POST", "/api/v1/sessions", body, expect=expect)

    def set_own_password(self, key: str) -> str:
        """Signs in with the temporary password and replaces it; returns a fresh session."""
        member = self.members[key]
        session = self.sign_in(key)
        assert session["must_change_password"] is True, (key, session)
        new = next(self.phrases)
        self.api.call("PUT", "/api/v1/me/password",
                      {"current_password": member.password, "new_password": new},
                      session["token"], expect=204)
        self.mailbox.expect(member.email, "notice")
        member.password, member.temporary = new, False
        return self.sign_in(key)["token"]

    def open_account(self, key: str, **declared: str) -> str:
        self.register(key, "accepted", **declared)
        self.receive_credentials(key)
        return self.set_own_password(key)

    def decide(self, registration_id: str, decision: str) -> None:
        answer = self.api.call(
            "POST", f"/api/v1/support/registrations/{registration_id}/decision",
            {"decision": decision, "note": "vérifié au téléphone"}, self.tokens[SUPPORT])
        self.registrations[registration_id] = answer["status"]

    def tell(self) -> None:
        """Everything the previous release is asked to do, e-mails included."""
        m, api, support = self.members, self.api, self.tokens[SUPPORT]
        # A health member with alerts on, and two reimbursements through the claims feed.
        helene = self.open_account("helene", secret_question="Mon premier chien ?",
                                   secret_answer="Médor")
        assert api.call("PUT", "/api/v1/me/alerts", {"reimbursements": True}, helene) == {
            "reimbursements": True}
        for number, (rid, amount) in {"M1000003": ("R-UPG-1", "25.40"),
                                      "M1000001": ("R-UPG-2", "112.00")}.items():
            api.call("POST", "/api/v1/internal/reimbursements", {
                "reimbursement_id": rid, "member_number": number,
                "contract_id": "SANTE-IND-001", "label": "Consultation",
                "care_date": days_ago(20).date().isoformat(),
                "paid_at": days_ago(5).isoformat(), "amount": amount,
            }, self.tokens[CLAIMS], expect=202)
            self.mailbox.expect(m["helene"].email, "notice")
            self.reimbursements.append(rid)
        # Forgotten credentials: a new temporary password, then a password of her own again.
        self.open_account("aminata")
        api.call("POST", "/api/v1/recoveries", m["aminata"].identity(), expect=202)
        self.receive_credentials("aminata")
        self.set_own_password("aminata")
        # Two identity reviews: one approved (credentials), one rejected (an e-mail says so).
        review = self.register("eloise", "identity_review", first_name="Élise")
        self.decide(review["registration_id"], "approve")
        self.receive_credentials("eloise")
        self.set_own_password("eloise")
        review = self.register("beatrice", "identity_review", first_name="Béatrix")
        self.decide(review["registration_id"], "reject")
        self.mailbox.expect(m["beatrice"].email, "notice")
        # A new e-mail address, confirmed by the code sent there; the old one is told.
        marc = self.open_account("marc")
        api.call("POST", "/api/v1/me/email",
                 {"new_email": NEW_EMAIL, "password": m["marc"].password}, marc, expect=202)
        code = verification_code(self.mailbox.take(self.fleet, NEW_EMAIL, "verification"))
        assert api.call("POST", "/api/v1/email-verifications", {"token": code}) == {
            "email": NEW_EMAIL}
        self.mailbox.expect(m["marc"].email, "notice")
        m["marc"].email = NEW_EMAIL
        # A closure, accepted by support: the account closes and the member is erased.
        sven = self.open_account("sven")
        self.closure_request = api.call("POST", "/api/v1/me/closure",
                                        {"password": m["sven"].password}, sven,
                                        expect=202)["request_id"]
        api.call("POST", f"/api/v1/support/requests/{self.closure_request}/decision",
                 {"decision": "accept", "note": "demande confirmée"}, support)
        self.mailbox.expect(m["sven"].email, "notice")
        m["sven"].open = False
        # Failed sign-ins: two (no lockout), and five (locked, told, unlocked by support).
        self.open_account("charles")
        self.open_account("jurgen")
        for key, times in (("charles", 2), ("jurgen", 5)):
            for _ in range(times):
                self.sign_in(key, "Pas le bon mot de passe 42", expect=401)
        self.sign_in("jurgen", expect=401)  # locked
        self.mailbox.expect(m["jurgen"].email, "notice")
        api.call("POST", f"/api/v1/support/accounts/{m['jurgen'].identifier}/unlock",
                 token=support)
        self.sign_in("jurgen")
        # Registered, never signed in: the temporary password is still the current one.
        self.register("anais", "accepted")
        self.receive_credentials("anais")
        self.register("louise", "refused")
        # Someone who cannot sign in asks support for help; nobody has answered yet.
        self.open_request = api.call("POST", "/api/v1/support-requests", {
            "kind": "other", **m["eve"].identity(),
            "message": "Je n'ai jamais reçu mon courrier d'adhésion.",
        }, expect=202)["request_id"]
        assert sorted(self.registrations.values()) == ["approved", "rejected"]

    def histories(self, api: Api) -> dict[str, list[dict[str, Any]]]:
        """Each account's audit history, without the (redacted) data of its events."""
        return {
            m.identifier: [
                {k: v for k, v in event.items() if k != "data"}
                for event in api.call("GET", f"/api/v1/audit/accounts/{m.identifier}/events",
                                      token=self.tokens[AUDITOR])["events"]
            ]
            for m in self.members.values() if m.identifier
        }

    def check(self, api: Api, histories: dict[str, list[dict[str, Any]]]) -> None:
        """What the next release answers about the story, with the previous one's tokens."""
        for key, member in self.members.items():
            if not member.identifier:
                continue
            if not member.open:  # closed, and erased: support sees no personal data
                answer = self.api_sign_in(api, member, expect=401)
                assert answer["code"] == "invalid_credentials", (key, answer)
                seen = api.call("GET", f"/api/v1/support/accounts/{member.identifier}",
                                token=self.tokens[SUPPORT])
                assert (seen["status"], seen["email"], seen["member_number"]) == (
                    "closed", None, None), seen
                continue
            session = self.api_sign_in(api, member, expect=201)
            assert session["must_change_password"] is member.temporary, (key, session)
            me = api.call("GET", "/api/v1/me", token=session["token"])
            assert (me["identifier"], me["email"]) == (member.identifier, member.email), me
        helene = self.api_sign_in(api, self.members["helene"], expect=201)["token"]
        contracts = api.call("GET", "/api/v1/me/reimbursements", token=helene)["contracts"]
        shown = [r["reimbursement_id"] for c in contracts for r in c["reimbursements"]]
        assert sorted(shown) == sorted(self.reimbursements), contracts
        now = self.histories(api)
        for identifier, before in histories.items():
            # A new release may show more of an account's streams, never less or otherwise,
            # and more of each event (this one adds its `hash`): compared on the older keys.
            older = set().union(*(event.keys() for event in before))
            shown = [{k: v for k, v in event.items() if k in older} for event in now[identifier]]
            kept = [event for event in shown if event in before]
            missing = [event for event in before if event not in kept]
            assert kept == before, (
                f"the history of {identifier} lost or changed events in the upgrade: "
                f"{missing[:3]}; before: {before}; after: {shown}")
        self.fleet.wait("the support queue to show the story", lambda: self.queue_as_told(api))

    def api_sign_in(self, api: Api, member: Member, expect: int) -> Any:
        return api.call("POST", "/api/v1/sessions",
                        {"identifier": member.identifier, "password": member.password},
                        expect=expect)

    def queue_as_told(self, api: Api) -> bool:
        def items(status: str) -> list[dict[str, Any]]:
            page = api.call("GET", f"/api/v1/support/queue?status={status}&limit=200",
                            token=self.tokens[SUPPORT])
            return page["items"]

        closed, still_open = items("closed"), items("open")
        reviews = {i.get("registration_id") for i in closed if i["kind"] == "identity_review"}
        closures = {i.get("request_id") for i in closed if i["kind"] == "closure"}
        waiting = {i.get("request_id") for i in still_open if i["kind"] == "other"}
        return (reviews == set(self.registrations) and closures == {self.closure_request}
                and waiting == {self.open_request}
                and not any(i["kind"] in ("identity_review", "closure") for i in still_open))
