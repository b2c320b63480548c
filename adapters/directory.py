"""The member directory (the eligibility reference): its tables, lookups and the CSV import."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from adapters.database import Database
from domain.directory import DirectoryEntry, HealthCoverage, HealthRole, Retirement

COLUMNS = [
    "member_number", "last_name", "first_name", "birth_date", "health_contract_id",
    "health_contract_type", "health_role", "principal_member_number", "relation", "retirement",
]
MEMBER_NUMBER = re.compile(r"\A[A-Z0-9]{1,20}\Z")
ISO_DATE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
CONTRACT_TYPES = {"individual", "collective"}
RELATIONS = {"spouse", "child", "other"}
MAX_NAME = 100
MAX_CONTRACT_ID = 40


class DirectoryImportError(Exception):
    """The file was refused whole; `problems` lists (line number, message) for each bad row."""

    def __init__(self, problems: list[tuple[int, str]]):
        super().__init__(f"{len(problems)} bad row(s)")
        self.problems = problems


@dataclass
class _Member:
    line: int
    last_name: str
    first_name: str
    birth_date: str
    retirement: str | None


# The member and their coverages (a member without one: a single row of NULL coverage).
MEMBER = (
    "SELECT 'self' AS kind, m.member_number, m.last_name, m.first_name, m.birth_date,"
    " m.retirement, c.contract_id, c.contract_type, c.role, c.principal_member_number,"
    " c.relation FROM directory_members m LEFT JOIN directory_coverages c"
    " ON c.member_number = m.member_number WHERE m.member_number = %s"
)
# ... and the people on the health contracts they are the principal member of.
HOUSEHOLD = (
    MEMBER + " UNION ALL"  # noqa: S608  (constants only)
    " SELECT 'beneficiary', m.member_number, m.last_name, m.first_name, NULL, NULL, NULL,"
    " NULL, NULL, NULL, c.relation FROM directory_coverages c JOIN directory_members m"
    " ON m.member_number = c.member_number"
    " WHERE c.principal_member_number = %s AND c.role = 'beneficiary'"
    " ORDER BY kind DESC, contract_id"
)


class SqlMemberDirectory:
    def __init__(self, database: Database):
        self.database = database

    def find(self, member_number: str) -> DirectoryEntry | None:
        return self._entry(self._rows(member_number, beneficiaries=False))

    def find_with_beneficiaries(
        self, member_number: str
    ) -> tuple[DirectoryEntry | None, list[dict[str, str]]]:
        rows = self._rows(member_number, beneficiaries=True)
        entry = self._entry([r for r in rows if r["kind"] == "self"])
        seen: dict[str, dict[str, str]] = {}
        for r in rows:
            if r["kind"] == "beneficiary" and r["member_number"] != member_number:
                seen.setdefault(r["member_number"] + "\x00" + (r["relation"] or ""), {
                    "first_name": r["first_name"], "last_name": r["last_name"],
                    "relation": r["relation"],
                })
        return entry, [seen[key] for key in sorted(seen)]

    def beneficiaries(self, principal_member_number: str) -> list[dict[str, str]]:
        return self.find_with_beneficiaries(principal_member_number)[1]

    def _rows(self, member_number: str, *, beneficiaries: bool) -> list:
        # One statement (a round trip, one snapshot, no transaction: a read-only transaction
        # ended by ROLLBACK costs two more round trips and makes psycopg forget its prepared
        # statements): the member and their coverages, and for "Mon espace" the people on the
        # contracts they are the principal member of.
        if not beneficiaries:
            return self.database.run(MEMBER + " ORDER BY contract_id", (member_number,))
        return self.database.run(HOUSEHOLD, (member_number, member_number))

    @staticmethod
    def _entry(rows: list) -> DirectoryEntry | None:
        if not rows:
            return None
        member = rows[0]
        return DirectoryEntry(
            member_number=member["member_number"],
            last_name=member["last_name"],
            first_name=member["first_name"],
            birth_date=date.fromisoformat(member["birth_date"]),
            retirement=Retirement(member["retirement"]) if member["retirement"] else None,
            coverages=tuple(
                HealthCoverage(
                    contract_id=c["contract_id"],
                    contract_type=c["contract_type"],
                    role=HealthRole(c["role"]),
                    principal_member_number=c["principal_member_number"],
                    relation=c["relation"],
                )
                for c in rows
                if c["contract_id"] is not None
            ),
        )

    def import_csv(self, text: str) -> int:
        """Upsert every row, or none when any row is bad. Returns the number of rows."""
        members, coverages, problems = _parse(text)
        if problems:
            raise DirectoryImportError(problems)
        with self.database.transaction() as cursor:
            for number, m in members.items():
                cursor.execute(
                    "INSERT INTO directory_members"
                    " (member_number, last_name, first_name, birth_date, retirement)"
                    " VALUES (%s, %s, %s, %s, %s)"
                    " ON CONFLICT (member_number) DO UPDATE SET last_name = excluded.last_name,"
                    " first_name = excluded.first_name, birth_date = excluded.birth_date,"
                    " retirement = excluded.retirement",
                    (number, m.last_name, m.first_name, m.birth_date, m.retirement),
                )
            for row in coverages:
                cursor.execute(
                    "INSERT INTO directory_coverages (member_number, contract_id, contract_type,"
                    " role, principal_member_number, relation) VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (member_number, contract_id) DO UPDATE SET"
                    " contract_type = excluded.contract_type, role = excluded.role,"
                    " principal_member_number = excluded.principal_member_number,"
                    " relation = excluded.relation",
                    row,
                )
        return _count_rows(text)


def _count_rows(text: str) -> int:
    return sum(1 for row in csv.reader(io.StringIO(text)) if any(row)) - 1


def _parse(text: str) -> tuple[dict[str, _Member], list[tuple], list[tuple[int, str]]]:
    problems: list[tuple[int, str]] = []
    members: dict[str, _Member] = {}
    coverages: list[tuple] = []
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != COLUMNS:
        return {}, [], [(1, "en-tête attendu : " + ",".join(COLUMNS))]
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(COLUMNS):
            problems.append((line, f"{len(cells)} colonnes au lieu de {len(COLUMNS)}"))
            continue
        row = dict(zip(COLUMNS, (c.strip() for c in cells), strict=True))
        row_problems = _check_row(row)
        number = row["member_number"]
        if not row_problems and number in members:
            known = members[number]
            same = (known.last_name, known.first_name, known.birth_date) == (
                row["last_name"], row["first_name"], row["birth_date"],
            )
            if not same:
                row_problems.append(
                    f"nom, prénom ou date de naissance différents de la ligne {known.line}"
                )
            elif row["retirement"] and known.retirement and row["retirement"] != known.retirement:
                row_problems.append(f"retraite différente de la ligne {known.line}")
        if row_problems:
            problems += [(line, p) for p in row_problems]
            continue
        member = members.setdefault(
            number,
            _Member(line, row["last_name"], row["first_name"], row["birth_date"], None),
        )
        member.retirement = member.retirement or row["retirement"] or None
        if row["health_contract_id"]:
            coverages.append((
                number, row["health_contract_id"], row["health_contract_type"],
                row["health_role"], row["principal_member_number"] or None,
                row["relation"] or None,
            ))
    return members, coverages, problems


def _check_row(row: dict[str, str]) -> list[str]:
    found = []
    if not MEMBER_NUMBER.match(row["member_number"]):
        found.append("member_number : 1 à 20 caractères A-Z ou 0-9")
    for name in ("last_name", "first_name"):
        if not row[name] or len(row[name]) > MAX_NAME:
            found.append(f"{name} : obligatoire, {MAX_NAME} caractères au plus")
    try:
        # fromisoformat alone would also take week dates such as 2020-W01-1.
        if not ISO_DATE.match(row["birth_date"]):
            raise ValueError(row["birth_date"])
        if date.fromisoformat(row["birth_date"]) > date.today():
            found.append("birth_date : date AAAA-MM-JJ passée attendue")
    except ValueError:
        found.append("birth_date : date AAAA-MM-JJ attendue")
    if row["retirement"] not in ("", "contributor", "pensioner"):
        found.append("retirement : contributor, pensioner ou vide")
    return found + _check_health(row)


def _check_health(row: dict[str, str]) -> list[str]:
    found = []
    contract = row["health_contract_id"]
    health = (row["health_contract_type"], row["health_role"], row["principal_member_number"],
              row["relation"])
    if not contract:
        if any(health):
            found.append("colonnes santé renseignées sans health_contract_id")
        return found
    if len(contract) > MAX_CONTRACT_ID:
        found.append(f"health_contract_id : {MAX_CONTRACT_ID} caractères au plus")
    if row["health_contract_type"] not in CONTRACT_TYPES:
        found.append("health_contract_type : individual ou collective")
    if row["health_role"] == "principal":
        if row["principal_member_number"] or row["relation"]:
            found.append("un adhérent principal n'a ni principal_member_number ni relation")
    elif row["health_role"] == "beneficiary":
        principal = row["principal_member_number"]
        if not MEMBER_NUMBER.match(principal) or principal == row["member_number"]:
            found.append("principal_member_number : numéro de l'adhérent principal attendu")
        if row["relation"] not in RELATIONS:
            found.append("relation : spouse, child ou other")
    else:
        found.append("health_role : principal ou beneficiary")
    return found
