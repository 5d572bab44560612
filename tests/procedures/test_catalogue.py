"""The committed catalogue: schema, scope, size, and the rules every record must keep."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.text import names_district_office
from procedures.records import CATALOGUE_FILE, Fee, Procedure, RecordError, Way, read_catalogue, validate
from procedures.search import ALIASES_FILE, load_aliases

MAX_BYTES = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def catalogue() -> list[Procedure]:
    return list(read_catalogue())


def test_the_catalogue_is_committed_small_and_valid(catalogue: list[Procedure]) -> None:
    assert CATALOGUE_FILE.stat().st_size <= MAX_BYTES
    assert len(catalogue) >= 700
    codes = [r.code for r in catalogue]
    assert len(codes) == len(set(codes)), "deduplicated by code"
    assert codes == sorted(codes, key=lambda c: tuple(int(p) for p in c.split("."))), "sorted: same input, same file"


def test_every_record_is_filed_at_the_commune_or_is_a_provincial_one_residents_file(catalogue: list[Procedure]) -> None:
    commune = [r for r in catalogue if r.commune_level]
    assert len(commune) >= 600
    assert all(r.commune_level or "tỉnh" in r.levels for r in catalogue)


def test_every_record_cites_its_source_and_date(catalogue: list[Procedure]) -> None:
    for record in catalogue:
        assert record.source_url.startswith("https://"), record.code
        assert record.data_date[:4] in ("2025", "2026"), record.code


def test_free_only_where_the_source_says_so(catalogue: list[Procedure]) -> None:
    for record in catalogue:
        for way in record.ways:
            if way.fee.kind == "free":
                assert way.fee.text == "Miễn phí"
            if way.fee.kind == "provincial":
                assert "HĐND" in way.fee.text
            if way.fee.kind == "unknown":
                assert way.fee.text == ""


def test_records_naming_a_district_office_are_flagged(catalogue: list[Procedure]) -> None:
    flagged = 0
    for record in catalogue:
        assert not names_district_office(record.name), record.code  # district-level variants are dropped
        if any(names_district_office(t) for t in (record.where, record.agency, *record.steps)):
            assert "names_district" in record.flags, record.code
        flagged += "names_district" in record.flags
    assert flagged > 0


def test_a_record_survives_a_round_trip(catalogue: list[Procedure]) -> None:
    for record in catalogue[:50]:
        assert Procedure.from_dict(json.loads(record.to_json())) == record


def test_validation_refuses_what_cannot_be_shown(catalogue: list[Procedure]) -> None:
    record = catalogue[0]
    bad_fee = Way("Trực tiếp", "", False, Fee("free", "Theo mức HĐND tỉnh quy định"))
    for broken in (
        record.__class__(**{**record.__dict__, "code": "abc"}),
        record.__class__(**{**record.__dict__, "levels": ("huyện",)}),
        record.__class__(**{**record.__dict__, "ways": (bad_fee,)}),
        record.__class__(**{**record.__dict__, "source_url": "dichvucong.gov.vn"}),
    ):
        with pytest.raises(RecordError):
            validate(broken)


def test_a_broken_line_names_the_file_and_line(tmp_path: Path, catalogue: list[Procedure]) -> None:
    path = tmp_path / "catalogue.jsonl"
    path.write_text(catalogue[0].to_json() + "\n{\"code\": \"1.1\"}\n", encoding="utf-8")
    with pytest.raises(RecordError, match="catalogue.jsonl:2"):
        list(read_catalogue(path))


def test_aliases_point_at_records_that_exist(catalogue: list[Procedure]) -> None:
    aliases = load_aliases(ALIASES_FILE)
    codes = {r.code for r in catalogue}
    assert set(aliases) <= codes
    seen: dict[str, str] = {}
    for code, phrases in aliases.items():
        for phrase in phrases:
            assert phrase.strip(), code
            seen.setdefault(phrase.lower(), code)


def test_the_gzipped_file_is_the_same_bytes_for_the_same_records(tmp_path: Path, catalogue: list[Procedure]) -> None:
    from procedures.records import write_catalogue

    one, two = tmp_path / "one.jsonl.gz", tmp_path / "two.jsonl.gz"
    write_catalogue(catalogue[:40], one)
    write_catalogue(reversed(catalogue[:40]), two)
    assert one.read_bytes() == two.read_bytes()
    assert list(read_catalogue(one)) == sorted(catalogue[:40], key=lambda r: tuple(int(p) for p in r.code.split(".")))
