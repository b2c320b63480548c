"""The member directory: what an import stores, who is eligible, and how a bad file is refused.

Every test runs on SQLite and on PostgreSQL (the `services` fixture); the demo file is already
imported by the `app` fixture.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from adapters.directory import COLUMNS, DirectoryImportError
from domain.directory import HealthCoverage, HealthRole, Retirement
from tests.helpers import DEMO_CSV

HEADER = ",".join(COLUMNS)
# Two good rows for members who are not in the demo file.
GOOD = "M2000001,Durand,Paul,1980-01-01,SANTE-IND-900,individual,principal,,,contributor"
GOOD_TOO = "M2000002,Durand,Claire,1982-03-04,SANTE-IND-900,individual,beneficiary,M2000001,spouse,"
TOMORROW = (date.today() + timedelta(days=1)).isoformat()


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def refused(services, text: str) -> list[tuple[int, str]]:
    with pytest.raises(DirectoryImportError) as caught:
        services.directory.import_csv(text)
    return caught.value.problems


def bad_lines(problems: list[tuple[int, str]]) -> list[int]:
    return sorted({line for line, _ in problems})


# --- what an import stores ------------------------------------------------------------------


def test_importing_the_demo_file_counts_each_of_its_rows(services):
    assert services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8")) == 25


def test_a_principal_member_is_found_with_names_birth_date_coverage_and_retirement(services):
    entry = services.directory.find("M1000001")

    assert entry is not None
    assert entry.member_number == "M1000001"
    assert (entry.last_name, entry.first_name) == ("Dupré-Lefèvre", "Hélène")
    assert entry.birth_date == date(1978, 4, 12)
    assert entry.retirement is Retirement.CONTRIBUTOR
    assert entry.coverages == (
        HealthCoverage("SANTE-IND-001", "individual", HealthRole.PRINCIPAL, None, None),
    )


def test_a_member_with_two_rows_has_both_health_contracts(services):
    entry = services.directory.find("M1000014")

    assert entry is not None
    assert (entry.last_name, entry.first_name) == ("Lefèbvre", "Anaïs")
    assert entry.retirement is None
    assert entry.coverages == (
        HealthCoverage("SANTE-COL-100", "collective", HealthRole.PRINCIPAL, None, None),
        HealthCoverage("SANTE-IND-015", "individual", HealthRole.PRINCIPAL, None, None),
    )


def test_a_beneficiary_carries_the_principal_member_number_and_the_relation(services):
    entry = services.directory.find("M1000002")

    assert entry is not None
    assert entry.retirement is Retirement.CONTRIBUTOR
    assert entry.coverages == (
        HealthCoverage("SANTE-IND-001", "individual", HealthRole.BENEFICIARY, "M1000001", "spouse"),
    )
    child = services.directory.find("M1000003")
    assert child is not None
    assert child.coverages[0].principal_member_number == "M1000001"
    assert child.coverages[0].relation == "child"


def test_a_member_without_health_contract_has_no_coverage(services):
    entry = services.directory.find("M1000009")

    assert entry is not None
    assert entry.coverages == ()
    assert entry.retirement is Retirement.PENSIONER


def test_an_unknown_member_number_is_not_found(services):
    assert services.directory.find("M9999999") is None


@pytest.mark.parametrize(
    ("member_number", "refusal", "sections"),
    [
        pytest.param("M1000024", None, ["health"], id="health principal"),
        pytest.param(
            "M1000001", None, ["health", "points_statement"], id="health principal and contributor"
        ),
        pytest.param("M1000003", "not_principal_member", [], id="health beneficiary only"),
        pytest.param("M1000008", None, ["points_statement"], id="contributor"),
        pytest.param(
            "M1000009", None, ["retirement", "fiscal_certificate", "points_statement"],
            id="pensioner",
        ),
        pytest.param(
            "M1000010", None,
            ["health", "retirement", "fiscal_certificate", "points_statement"],
            id="pensioner and health principal",
        ),
        pytest.param(
            "M1000011", None, ["retirement", "fiscal_certificate", "points_statement"],
            id="pensioner and health beneficiary",
        ),
        pytest.param(
            "M1000018", None, ["points_statement"], id="contributor and health beneficiary"
        ),
        pytest.param("M1000012", "not_eligible", [], id="no coverage and no retirement"),
    ],
)
def test_each_kind_of_member_gets_the_right_eligibility_and_sections(
    services, member_number, refusal, sections
):
    entry = services.directory.find(member_number)

    assert entry is not None
    assert entry.refusal_reason() == refusal
    assert entry.sections() == sections


# --- a bad file is refused whole ------------------------------------------------------------


def test_one_bad_row_among_good_ones_imports_nothing_and_names_its_line(services):
    bad = "M2000003,Durand,Léa,pas-une-date,,,,,,contributor"

    problems = refused(services, csv_text(GOOD, GOOD_TOO, bad))

    assert bad_lines(problems) == [4]
    assert services.directory.find("M2000001") is None
    assert services.directory.find("M2000002") is None
    assert services.directory.find("M2000003") is None


def test_a_bad_row_does_not_change_members_already_in_the_directory(services):
    renamed = "M1000001,Autre,Nom,1978-04-12,SANTE-IND-001,individual,principal,,,pensioner"
    bad = "M2000003,,Léa,1990-01-01,,,,,,contributor"

    refused(services, csv_text(renamed, bad))

    entry = services.directory.find("M1000001")
    assert entry is not None
    assert (entry.last_name, entry.retirement) == ("Dupré-Lefèvre", Retirement.CONTRIBUTOR)


def test_several_bad_rows_are_each_reported_with_their_own_line(services):
    text = csv_text(
        GOOD,
        "m2000003,Durand,Léa,1990-01-01,,,,,,contributor",
        GOOD_TOO,
        "M2000004,Durand,Léo,1990-01-01,,,,,,retired",
        "M2000005,Durand,Lou,1990-01-01,SANTE-IND-901,individual,beneficiary,,child,",
    )

    problems = refused(services, text)

    assert bad_lines(problems) == [3, 5, 6]
    assert all(message for _, message in problems)
    assert services.directory.find("M2000001") is None


def test_a_blank_line_still_counts_in_the_reported_line_numbers(services):
    text = HEADER + "\n" + GOOD + "\n\n" + "M2000003,Durand,Léa,1990-01-01,,,,,,retired\n"

    assert bad_lines(refused(services, text)) == [4]


BAD_ROWS = [
    pytest.param("m2000009,Durand,Paul,1980-01-01,,,,,,contributor", id="lower-case member number"),
    pytest.param("M-200009,Durand,Paul,1980-01-01,,,,,,contributor", id="dash in member number"),
    pytest.param(
        "M" + "0" * 20 + ",Durand,Paul,1980-01-01,,,,,,contributor",
        id="member number over 20 characters",
    ),
    pytest.param(",Durand,Paul,1980-01-01,,,,,,contributor", id="empty member number"),
    pytest.param("M2000009,,Paul,1980-01-01,,,,,,contributor", id="empty last name"),
    pytest.param("M2000009,Durand,   ,1980-01-01,,,,,,contributor", id="blank first name"),
    pytest.param("M2000009,Durand,Paul,01/01/1980,,,,,,contributor", id="date not YYYY-MM-DD"),
    pytest.param("M2000009,Durand,Paul,1980-02-30,,,,,,contributor", id="date that does not exist"),
    pytest.param("M2000009,Durand,Paul,19800101,,,,,,contributor", id="date without dashes"),
    pytest.param("M2000009,Durand,Paul,,,,,,,contributor", id="empty date"),
    pytest.param(f"M2000009,Durand,Paul,{TOMORROW},,,,,,contributor", id="date in the future"),
    pytest.param("M2000009,Durand,Paul,2020-W01-1,,,,,,contributor", id="ISO week date"),
    pytest.param(
        "M2000009,Durand,Paul,1980-01-01,SANTE-IND-900,individual,dependent,,,",
        id="unknown health_role",
    ),
    pytest.param(
        "M2000009,Durand,Paul,1980-01-01,SANTE-IND-900,individual,,,,",
        id="contract without health_role",
    ),
    pytest.param(
        "M2000009,Durand,Paul,1980-01-01,SANTE-IND-900,family,principal,,,",
        id="unknown contract type",
    ),
    pytest.param(
        "M2000009,Durand,Paul,1980-01-01,SANTE-IND-900,individual,principal,M1000001,,",
        id="principal with a principal_member_number",
    ),
    pytest.param(
        "M2000009,Durand,Paul,1980-01-01,SANTE-IND-900,individual,principal,,spouse,",
        id="principal with a relation",
    ),
    pytest.param(
        "M2000009,Durand,Paul,1980-01-01,SANTE-IND-001,individual,beneficiary,,child,",
        id="beneficiary without principal",
    ),
    pytest.param(
        "M2000009,Durand,Paul,1980-01-01,SANTE-IND-001,individual,beneficiary,M2000009,child,",
        id="beneficiary of themself",
    ),
    pytest.param(
        "M2000009,Durand,Paul,1980-01-01,SANTE-IND-001,individual,beneficiary,M1000001,cousin,",
        id="unknown relation",
    ),
    pytest.param(
        "M2000009,Durand,Paul,1980-01-01,SANTE-IND-001,individual,beneficiary,M1000001,,",
        id="beneficiary without relation",
    ),
    pytest.param(
        "M2000009,Durand,Paul,1980-01-01,,individual,principal,,,",
        id="health columns without contract id",
    ),
    pytest.param(
        "M2000009,Durand,Paul,1980-01-01,,,,M1000001,child,",
        id="principal and relation without contract id",
    ),
    pytest.param("M2000009,Durand,Paul,1980-01-01,,,,,,retired", id="unknown retirement"),
    pytest.param("M2000009,Durand,Paul,1980-01-01,,,,,", id="nine columns"),
    pytest.param("M2000009,Durand,Paul,1980-01-01,,,,,,contributor,", id="eleven columns"),
    pytest.param("M2000009", id="one column"),
]


@pytest.mark.parametrize("bad_row", BAD_ROWS)
def test_each_kind_of_bad_row_is_reported_by_line_and_nothing_is_imported(services, bad_row):
    problems = refused(services, csv_text(GOOD, bad_row, GOOD_TOO))

    assert bad_lines(problems) == [3]
    assert services.directory.find("M2000001") is None
    assert services.directory.find("M2000002") is None
    assert services.directory.find("M2000009") is None


@pytest.mark.parametrize(
    "second_row",
    [
        pytest.param(
            "M2000001,Dupont,Paul,1980-01-01,SANTE-COL-901,collective,principal,,,",
            id="different last name",
        ),
        pytest.param(
            "M2000001,Durand,Pierre,1980-01-01,SANTE-COL-901,collective,principal,,,",
            id="different first name",
        ),
        pytest.param(
            "M2000001,Durand,Paul,1981-01-01,SANTE-COL-901,collective,principal,,,",
            id="different birth date",
        ),
        pytest.param(
            "M2000001,Durand,Paul,1980-01-01,SANTE-COL-901,collective,principal,,,pensioner",
            id="different retirement",
        ),
    ],
)
def test_two_rows_of_one_member_that_disagree_are_refused_at_the_second_row(
    services, second_row
):
    problems = refused(services, csv_text(GOOD_TOO, GOOD, second_row))

    assert bad_lines(problems) == [4]
    assert services.directory.find("M2000001") is None


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(HEADER.replace(",retirement", ""), id="missing column"),
        pytest.param(HEADER.replace("last_name,first_name", "first_name,last_name"), id="swapped"),
        pytest.param(HEADER + ",extra", id="extra column"),
        pytest.param(HEADER.upper(), id="upper case"),
        pytest.param(GOOD, id="no header at all"),
    ],
)
def test_a_wrong_header_is_reported_on_line_one_and_nothing_is_imported(services, header):
    problems = refused(services, csv_text(GOOD, GOOD_TOO, header=header))

    assert bad_lines(problems) == [1]
    assert services.directory.find("M2000001") is None


def test_an_empty_file_is_refused_on_line_one(services):
    assert bad_lines(refused(services, "")) == [1]


# --- re-import and encodings ----------------------------------------------------------------


def test_re_importing_updates_a_member_in_place_and_deletes_nobody(services):
    renamed = (
        "M1000008,Cœurdevey-Martin,Éloïse,1990-01-15,SANTE-IND-800,individual,principal,,,"
        "pensioner"
    )

    assert services.directory.import_csv(csv_text(renamed, GOOD)) == 2

    entry = services.directory.find("M1000008")
    assert entry is not None
    assert entry.last_name == "Cœurdevey-Martin"
    assert entry.retirement is Retirement.PENSIONER
    assert entry.coverages == (
        HealthCoverage("SANTE-IND-800", "individual", HealthRole.PRINCIPAL, None, None),
    )
    assert entry.sections() == [
        "health", "retirement", "fiscal_certificate", "points_statement",
    ]
    kept = services.directory.find("M1000001")
    assert kept is not None
    assert kept.coverages[0].contract_id == "SANTE-IND-001"
    assert services.directory.find("M2000001") is not None


def test_re_importing_the_same_file_twice_changes_nothing(services):
    before = [services.directory.find(f"M10000{n:02d}") for n in range(1, 25)]

    services.directory.import_csv(DEMO_CSV.read_text(encoding="utf-8"))

    assert [services.directory.find(f"M10000{n:02d}") for n in range(1, 25)] == before


def test_a_utf8_byte_order_mark_before_the_header_is_accepted(services):
    assert services.directory.import_csv("\ufeff" + csv_text(GOOD, GOOD_TOO)) == 2

    entry = services.directory.find("M2000002")
    assert entry is not None
    assert entry.first_name == "Claire"


def test_windows_line_endings_are_accepted(services):
    services.directory.import_csv(csv_text(GOOD, GOOD_TOO).replace("\n", "\r\n"))

    entry = services.directory.find("M2000001")
    assert entry is not None
    assert entry.retirement is Retirement.CONTRIBUTOR
