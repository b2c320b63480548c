"""Issue 21: the directory import at the insurer's size (adapters/directory_csv.py reads the file
as it goes, adapters/directory_import.py writes it in one transaction), on SQLite and
PostgreSQL: the first import into an empty directory and a re-import into a full one, all rows
or none either way, whatever the values hold; a row repeating a member's contract refused;
progress told as the lines are read. The figures are in bench/directory_import.py."""

from __future__ import annotations

import pytest

from adapters.directory import COLUMNS, READING, DirectoryImportError
from domain.directory import HealthCoverage, HealthRole, Retirement

HEADER = ",".join(COLUMNS)
PRINCIPAL = "M3000001,Le Gall,Yann,1970-05-06,SANTE-COL-7,collective,principal,,,contributor"
SPOUSE = "M3000002,Le Gall,Anne,1972-01-02,SANTE-COL-7,collective,beneficiary,M3000001,spouse,"


def csv_text(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def household(n: int) -> list[str]:
    """A principal and their child on one contract, and a retiree without one: 3 rows."""
    return [
        f"H{n:07d}0,Famille{n},Hélène,1970-01-01,SANTE-{n},individual,principal,,,",
        f"H{n:07d}1,Famille{n},Zoé,2005-03-04,SANTE-{n},individual,beneficiary,H{n:07d}0,child,",
        f"R{n:07d},Retraité{n},Jean,1950-06-15,,,,,,pensioner",
    ]


@pytest.fixture
def empty(services):
    """The directory as before its first import (the `app` fixture imported the demo file)."""
    with services.database.transaction() as cursor:
        cursor.execute("DELETE FROM directory_coverages")
        cursor.execute("DELETE FROM directory_members")
    return services


def test_a_first_import_stores_members_coverages_and_empty_columns_as_none(empty):
    assert empty.directory.import_csv(csv_text(PRINCIPAL, SPOUSE, *household(1))) == 5

    principal = empty.directory.find("M3000001")
    assert (principal.last_name, principal.retirement) == ("Le Gall", Retirement.CONTRIBUTOR)
    assert principal.coverages == (
        HealthCoverage("SANTE-COL-7", "collective", HealthRole.PRINCIPAL, None, None),
    )
    assert empty.directory.find("M3000002").coverages == (
        HealthCoverage("SANTE-COL-7", "collective", HealthRole.BENEFICIARY, "M3000001", "spouse"),
    )
    retiree = empty.directory.find("R0000001")
    assert (retiree.retirement, retiree.coverages) == (Retirement.PENSIONER, ())


@pytest.mark.parametrize("directory", ["empty", "full"])
def test_a_bad_last_row_after_thousands_of_good_ones_imports_nothing(
    services, empty, directory
):
    if directory == "full":
        services.directory.import_csv(csv_text(PRINCIPAL))
    rows = [row for n in range(2_000) for row in household(n)]
    bad = "M3000009,Durand,Paul,1980-02-30,,,,,,"

    with pytest.raises(DirectoryImportError) as refused:
        services.directory.import_csv(csv_text(*rows, bad))

    assert refused.value.problems == [(len(rows) + 2, "birth_date : date AAAA-MM-JJ attendue")]
    assert services.directory.find("H00000000") is None
    assert services.directory.find("R0001999") is None
    assert (services.directory.find("M3000001") is not None) is (directory == "full")


def test_values_with_commas_quotes_and_accents_are_stored_as_written(empty):
    quoted = (
        '"M3000003"," Le Bihan, dit ""Yannig"" ",Noël,1960-12-25,"SANTE,COL;8",collective,'
        "principal,,,"
    )

    empty.directory.import_csv(csv_text(quoted))
    empty.directory.import_csv(csv_text(quoted))  # the re-import's staging path too

    entry = empty.directory.find("M3000003")
    assert (entry.last_name, entry.first_name) == ('Le Bihan, dit "Yannig"', "Noël")
    assert [c.contract_id for c in entry.coverages] == ["SANTE,COL;8"]


def test_a_re_import_updates_what_changed_adds_what_is_new_and_deletes_nothing(services):
    services.directory.import_csv(csv_text(PRINCIPAL, SPOUSE))
    moved = SPOUSE.replace("spouse,", "other,").replace("Anne", "Anne-Marie")
    services.directory.import_csv(csv_text(moved, *household(7)))

    spouse = services.directory.find("M3000002")
    assert spouse.first_name == "Anne-Marie"
    assert [c.relation for c in spouse.coverages] == ["other"]
    assert services.directory.find("M3000001").coverages[0].role is HealthRole.PRINCIPAL
    assert services.directory.find("H00000071") is not None
    assert services.directory.find("M1000001") is not None  # the demo file's, untouched


def test_a_member_on_the_same_contract_twice_is_refused_at_the_second_row(services):
    again = PRINCIPAL.replace("contributor", "")

    with pytest.raises(DirectoryImportError) as refused:
        services.directory.import_csv(csv_text(PRINCIPAL, SPOUSE, again))

    assert refused.value.problems == [
        (4, "même adhérent et même contrat santé qu'à la ligne 2"),
    ]
    assert services.directory.find("M3000001") is None


def test_the_import_tells_how_many_lines_it_has_read_up_to_the_last(services):
    rows = [row for n in range(15_000) for row in household(n)]  # 45,000 rows
    text = csv_text(*rows)
    total = text.count("\n")
    reports: list[tuple[str, int, int]] = []

    count = services.directory.import_lines(
        text.splitlines(keepends=True), total_lines=total,
        progress=lambda *report: reports.append(report),
    )

    assert count == 45_000
    assert {task for task, _, _ in reports} == {READING}
    done = [done for _, done, _ in reports]
    assert done == [20_000, 40_000, total]
    assert {t for _, _, t in reports} == {total}


@pytest.mark.parametrize("name", ["Le\x00Gall", "Le Gall\u202e", "Le\u2028Gall", "\u200bYann"],
                         ids=["nul", "bidi-override", "line-separator", "zero-width-space"])
def test_a_name_with_a_control_or_format_character_is_a_bad_row(services, name):
    row = PRINCIPAL.replace("Le Gall", name)

    with pytest.raises(DirectoryImportError) as refused:
        services.directory.import_csv(csv_text(SPOUSE, row))

    assert refused.value.problems == [(3, "caractères de contrôle ou de mise en forme interdits")]
    assert services.directory.find("M3000002") is None


def test_a_joiner_inside_a_word_of_a_name_is_accepted(services):
    persian = "علی\u200cزاده"  # Alizadeh, with the ZWNJ Persian writes inside the word

    services.directory.import_csv(csv_text(PRINCIPAL.replace("Le Gall", persian)))

    assert services.directory.find("M3000001").last_name == persian
