"""The directory import's writes, one transaction per file: all rows or none.

On PostgreSQL the rows go by COPY while the file is read (the server takes them on the other
core): into the tables themselves on the first import, else into temporary tables, and then
one MERGE per table updates the members and contracts that changed and inserts the new ones.
The tables are locked against other writers only (SHARE ROW EXCLUSIVE), from the start so
that no other import fills them meanwhile: registrations read the directory
throughout, and see the new file at once when it commits. Updating only what differs keeps
the monthly re-import of an unchanged file from rewriting a million rows.
bench/directory_import.py measures it beside PostgreSQL's own COPY of the same file.

On SQLite the rows are upserted in batches (executemany): no round trips to save there."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from adapters.database import Cursor
from adapters.directory_csv import Coverage, ReadDirectory

# Reads the file, handing each coverage to the callable given; raises on any bad row.
Reader = Callable[[Callable[[Coverage], None]], ReadDirectory]

MEMBER_COLUMNS = "member_number, last_name, first_name, birth_date, retirement"
COVERAGE_COLUMNS = (
    "member_number, contract_id, contract_type, role, principal_member_number, relation"
)
STAGING = [
    "CREATE TEMPORARY TABLE directory_import_members (member_number TEXT, last_name TEXT,"
    " first_name TEXT, birth_date TEXT, retirement TEXT) ON COMMIT DROP",
    "CREATE TEMPORARY TABLE directory_import_coverages (member_number TEXT, contract_id TEXT,"
    " contract_type TEXT, role TEXT, principal_member_number TEXT, relation TEXT) ON COMMIT DROP",
]
LOCK = "LOCK TABLE directory_members, directory_coverages IN SHARE ROW EXCLUSIVE MODE"
MERGE = [
    # The joins of a million staged rows with a million stored ones hash in memory, not in
    # batches on disk (the default 4MB); for this transaction only.
    "SET LOCAL work_mem = '256MB'",
    "ANALYZE directory_import_members",
    "ANALYZE directory_import_coverages",
    # One join of the staged rows with the stored ones per table (MERGE, PostgreSQL 15):
    # what differs is updated, what is new inserted, the rest left as it is.
    "MERGE INTO directory_members m USING directory_import_members s"  # noqa: S608
    " ON m.member_number = s.member_number"
    " WHEN MATCHED AND (m.last_name, m.first_name, m.birth_date, m.retirement)"
    " IS DISTINCT FROM (s.last_name, s.first_name, s.birth_date, s.retirement) THEN"
    " UPDATE SET last_name = s.last_name, first_name = s.first_name,"
    " birth_date = s.birth_date, retirement = s.retirement"
    f" WHEN NOT MATCHED THEN INSERT ({MEMBER_COLUMNS}) VALUES (s.member_number, s.last_name,"
    " s.first_name, s.birth_date, s.retirement)",
    "MERGE INTO directory_coverages c USING directory_import_coverages s"  # noqa: S608
    " ON c.member_number = s.member_number AND c.contract_id = s.contract_id"
    " WHEN MATCHED AND (c.contract_type, c.role, c.principal_member_number, c.relation)"
    " IS DISTINCT FROM (s.contract_type, s.role, s.principal_member_number, s.relation) THEN"
    " UPDATE SET contract_type = s.contract_type, role = s.role,"
    " principal_member_number = s.principal_member_number, relation = s.relation"
    f" WHEN NOT MATCHED THEN INSERT ({COVERAGE_COLUMNS}) VALUES (s.member_number,"
    " s.contract_id, s.contract_type, s.role, s.principal_member_number, s.relation)",
]
UPSERT_MEMBER = (
    f"INSERT INTO directory_members ({MEMBER_COLUMNS}) VALUES (%s, %s, %s, %s, %s)"  # noqa: S608
    " ON CONFLICT (member_number) DO UPDATE SET last_name = excluded.last_name,"
    " first_name = excluded.first_name, birth_date = excluded.birth_date,"
    " retirement = excluded.retirement"
)
UPSERT_COVERAGE = (
    f"INSERT INTO directory_coverages ({COVERAGE_COLUMNS})"  # noqa: S608
    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (member_number, contract_id) DO UPDATE SET"
    " contract_type = excluded.contract_type, role = excluded.role,"
    " principal_member_number = excluded.principal_member_number, relation = excluded.relation"
)
BATCH = 10_000


def import_postgresql(cursor: Cursor, read: Reader) -> ReadDirectory:
    cursor.execute(LOCK)
    cursor.execute("SELECT EXISTS (SELECT 1 FROM directory_members)"
                   " OR EXISTS (SELECT 1 FROM directory_coverages) AS filled")
    # The first import goes straight into the tables (no row to update, and nothing is
    # committed unless every row is good); later ones through the staging tables.
    members, coverages = "directory_members", "directory_coverages"
    filled = cursor.fetchone()["filled"]
    if filled:
        members, coverages = "directory_import_members", "directory_import_coverages"
        for statement in STAGING:
            cursor.execute(statement)
    with cursor.raw.copy(
        f"COPY {coverages} ({COVERAGE_COLUMNS}) FROM STDIN WITH (FORMAT csv)"
    ) as copy, CsvBatches(copy.write) as batches:
        found = read(batches.add)
    with cursor.raw.copy(
        f"COPY {members} ({MEMBER_COLUMNS}) FROM STDIN WITH (FORMAT csv)"
    ) as copy, CsvBatches(copy.write) as batches:
        for number, (_, last, first, birth, retirement) in found.members.items():
            batches.add((number, last, first, birth, retirement))
    if filled:
        for statement in MERGE:
            cursor.execute(statement)
    return found


class CsvBatches:
    """Rows to a COPY in CSV, written by the csv module a batch at a time: a million calls of
    psycopg's write_row cost a second that the reader's own core needs. None is written as
    an empty unquoted field, which COPY's CSV format reads as NULL; no column that may be
    NULL is ever an empty string here (the reader stores an empty cell as None)."""

    def __init__(self, write: Callable[[str], None]):
        self.write = write
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\n")
        self.rows: list[tuple[str | None, ...]] = []

    def __enter__(self) -> CsvBatches:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.flush()

    def add(self, row: tuple[str | None, ...]) -> None:
        self.rows.append(row)
        if len(self.rows) == BATCH:
            self.flush()

    def flush(self) -> None:
        self.writer.writerows(self.rows)
        self.rows.clear()
        self.write(self.buffer.getvalue())
        self.buffer.seek(0)
        self.buffer.truncate()


def import_sqlite(cursor: Cursor, read: Reader) -> ReadDirectory:
    batch: list[Coverage] = []

    def coverage(row: Coverage) -> None:
        batch.append(row)
        if len(batch) == BATCH:
            cursor.raw.executemany(UPSERT_COVERAGE.replace("%s", "?"), batch)
            batch.clear()

    found = read(coverage)
    # The members first in the file's order would change nothing here: the tables have no
    # foreign keys, and the transaction commits both or neither.
    cursor.raw.executemany(UPSERT_COVERAGE.replace("%s", "?"), batch)
    cursor.raw.executemany(UPSERT_MEMBER.replace("%s", "?"), [
        (number, last, first, birth, retirement)
        for number, (_, last, first, birth, retirement) in found.members.items()
    ])
    return found
