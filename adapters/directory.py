"""The member directory (the eligibility reference): its tables, lookups and the CSV import."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import date

from adapters.database import Database
from adapters.directory_csv import COLUMNS, Coverage, ReadDirectory, read_directory
from adapters.directory_import import import_postgresql, import_sqlite
from adapters.progress import Progress, no_progress
from domain.directory import DirectoryEntry, HealthCoverage, HealthRole, Retirement

__all__ = ["COLUMNS", "DirectoryImportError", "SqlMemberDirectory"]

READING = "directory import (lines read)"


class DirectoryImportError(Exception):
    """The file was refused whole; `problems` lists (line number, message) for each bad row."""

    def __init__(self, problems: list[tuple[int, str]]):
        super().__init__(f"{len(problems)} bad row(s)")
        self.problems = problems


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
        return self.import_lines(io.StringIO(text, newline=""))

    def import_lines(
        self, lines: Iterable[str], total_lines: int = 0, progress: Progress = no_progress
    ) -> int:
        """As import_csv, from the file's lines as they are read (a million-row file is never
        held whole), telling `progress` how many of `total_lines` are read."""
        def read(coverage: Callable[[Coverage], None]) -> ReadDirectory:
            found = read_directory(
                lines, coverage, lambda line: progress(READING, line, total_lines)
            )
            if found.problems:
                raise DirectoryImportError(found.problems)
            progress(READING, total_lines, total_lines)
            return found

        with self.database.transaction() as cursor:
            if self.database.kind == "postgresql":
                found = import_postgresql(cursor, read)
            else:
                found = import_sqlite(cursor, read)
        return found.rows
