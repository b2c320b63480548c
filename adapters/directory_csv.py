"""The directory CSV read and checked in one pass (adapters/directory.py writes what it finds).

The insurer's file has a million rows: the coverages go to the caller as they are read, so
that the database takes them while the rest is read, and only the members and which contracts
each is on are held (a member on several rows must agree with their first row, and has one
row per health contract). A row is checked once, by string tests where
they suffice; a birth date is parsed once per distinct date (a million members share about
thirty thousand), not once per row."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from adapters.text_hygiene import has_control_characters

COLUMNS = [
    "member_number", "last_name", "first_name", "birth_date", "health_contract_id",
    "health_contract_type", "health_role", "principal_member_number", "relation", "retirement",
]
MEMBER_NUMBER = re.compile(r"\A[A-Z0-9]{1,20}\Z")
ISO_DATE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
CONTRACT_TYPES = {"individual", "collective"}
RELATIONS = {"spouse", "child", "other"}
RETIREMENTS = {"", "contributor", "pensioner"}
MAX_NAME = 100
MAX_CONTRACT_ID = 40
# How often, in lines, the reader reports how far it is.
PROGRESS_LINES = 20_000

# (member_number, contract_id, contract_type, role, principal_member_number, relation)
Coverage = tuple[str, str, str, str, str | None, str | None]
# member_number -> (first line, last_name, first_name, birth_date, retirement or None)
Member = tuple[int, str, str, str, str | None]


@dataclass
class ReadDirectory:
    members: dict[str, Member] = field(default_factory=dict)
    problems: list[tuple[int, str]] = field(default_factory=list)
    rows: int = 0


def read_directory(
    lines: Iterable[str], coverage: Callable[[Coverage], None],
    progress: Callable[[int], None] = lambda line: None,
) -> ReadDirectory:
    """Every row checked; the good rows' coverages handed to `coverage` in file order, their
    members returned. The caller writes nothing when `problems` is not empty."""
    found = ReadDirectory()
    reader = csv.reader(_without_bom(lines))
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != COLUMNS:
        found.problems.append((1, "en-tête attendu : " + ",".join(COLUMNS)))
        return found
    checks = _Checks(found.members)
    members, problems = found.members, found.problems
    for cells in reader:
        line = reader.line_num
        if line % PROGRESS_LINES == 0:
            progress(line)
        if len(cells) != len(COLUMNS):
            if any(c.strip() for c in cells):
                problems.append((line, f"{len(cells)} colonnes au lieu de {len(COLUMNS)}"))
            continue
        row = [c.strip() for c in cells]
        if not any(row):
            continue  # a blank line, counted in the line numbers all the same
        row_problems = checks.problems(row, line)
        if row_problems:
            problems += [(line, p) for p in row_problems]
            continue
        found.rows += 1
        number, last, first, birth, contract, _, _, _, _, retirement = row
        known = members.get(number)
        if known is None:
            members[number] = (line, last, first, birth, retirement or None)
        elif retirement and not known[4]:
            members[number] = (*known[:4], retirement)
        if contract:
            coverage((number, contract, row[5], row[6], row[7] or None, row[8] or None))
    return found


class _Checks:
    """A row's problems, alone and beside the rows before it."""

    def __init__(self, members: dict[str, Member]):
        self.members = members
        self.contracts: dict[tuple[str, str], int] = {}  # (member, contract) -> its line
        self.dates: dict[str, str | None] = {}  # birth date -> its problem, or None
        self.today = date.today().isoformat()

    def problems(self, row: list[str], line: int) -> list[str]:
        number, last, first, birth, contract, _, _, _, _, retirement = row
        found = _check_member(number, last, first, retirement)
        born = self.dates.get(birth, "")
        if born == "":
            born = self.dates[birth] = _check_birth_date(birth, self.today)
        if born is not None:
            found.append(born)
        if contract or any(row[5:9]):
            found += _check_health(row)
        # A name or contract id with a control or format character (a NUL, which PostgreSQL's
        # text refuses, a line break, a bidi override) is a bad row, as in the API's input
        # hygiene; the precise check only for text that is not all printable.
        if not (last.isprintable() and first.isprintable() and contract.isprintable()) and any(
            has_control_characters(text) for text in (last, first, contract)
        ):
            found.append("caractères de contrôle ou de mise en forme interdits")
        if found:
            return found
        known = self.members.get(number)
        if known is not None:
            if (known[1], known[2], known[3]) != (last, first, birth):
                return [f"nom, prénom ou date de naissance différents de la ligne {known[0]}"]
            if retirement and known[4] and retirement != known[4]:
                return [f"retraite différente de la ligne {known[0]}"]
        if contract:
            # One row per member and health contract (CONTRACT.md): a second is ambiguous.
            seen = self.contracts.setdefault((number, contract), line)
            if seen != line:
                return [f"même adhérent et même contrat santé qu'à la ligne {seen}"]
        return []


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    iterator = iter(lines)
    first = next(iterator, None)
    if first is None:
        return
    yield first.removeprefix("\ufeff")
    yield from iterator


def _check_member(number: str, last: str, first: str, retirement: str) -> list[str]:
    found = []
    if not MEMBER_NUMBER.match(number):
        found.append("member_number : 1 à 20 caractères A-Z ou 0-9")
    for name, value in (("last_name", last), ("first_name", first)):
        if not value or len(value) > MAX_NAME:
            found.append(f"{name} : obligatoire, {MAX_NAME} caractères au plus")
    if retirement not in RETIREMENTS:
        found.append("retirement : contributor, pensioner ou vide")
    return found


def _check_birth_date(birth: str, today: str) -> str | None:
    # fromisoformat alone would also take week dates such as 2020-W01-1.
    if not ISO_DATE.match(birth):
        return "birth_date : date AAAA-MM-JJ attendue"
    try:
        date.fromisoformat(birth)
    except ValueError:
        return "birth_date : date AAAA-MM-JJ attendue"
    return "birth_date : date AAAA-MM-JJ passée attendue" if birth > today else None


def _check_health(row: list[str]) -> list[str]:
    number, contract, contract_type, role, principal, relation = (
        row[0], row[4], row[5], row[6], row[7], row[8],
    )
    if not contract:
        return ["colonnes santé renseignées sans health_contract_id"]
    found = []
    if len(contract) > MAX_CONTRACT_ID:
        found.append(f"health_contract_id : {MAX_CONTRACT_ID} caractères au plus")
    if contract_type not in CONTRACT_TYPES:
        found.append("health_contract_type : individual ou collective")
    if role == "principal":
        if principal or relation:
            found.append("un adhérent principal n'a ni principal_member_number ni relation")
    elif role == "beneficiary":
        if not MEMBER_NUMBER.match(principal) or principal == number:
            found.append("principal_member_number : numéro de l'adhérent principal attendu")
        if relation not in RELATIONS:
            found.append("relation : spouse, child ou other")
    else:
        found.append("health_role : principal ou beneficiary")
    return found
