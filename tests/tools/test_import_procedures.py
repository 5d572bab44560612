"""The catalogue importer on a small raw tree: same inputs → same output, and every rejection has a reason."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "tests" / "fixtures" / "procedures" / "sources"
sys.path.insert(0, str(ROOT / "tools"))

import import_procedures  # noqa: E402

from procedures.records import read_catalogue  # noqa: E402


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture's source files laid out as the snapshots are, plus a duplicate and an out-of-scope record."""
    root = tmp_path_factory.mktemp("raw")
    json_root, docx_root = root / "json", root / "docx" / "Bo_Vi_Du"
    (docx_root / "huong_dan").mkdir(parents=True)
    (docx_root / "danh_sach_Bo_Vi_Du.txt").write_text("Tổng số: 3 thủ tục\nNgày tạo: 2025-11-27 15:28:12\n",
                                                      encoding="utf-8")
    for path in sorted(SOURCES.glob("*.json"))[:20]:
        ministry, code = path.stem.split("__")
        (json_root / ministry).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, json_root / ministry / f"{code}.json")
    for path in sorted(SOURCES.glob("docx__*.docx"))[:5]:
        shutil.copy(path, docx_root / "huong_dan" / f"{path.stem.split('__')[1].replace('.', '_')}.docx")
    first = sorted(SOURCES.glob("*.json"))[0]
    data = json.loads(first.read_text(encoding="utf-8"))
    # the same procedure filed twice (another folder), and one only a ministry handles
    (json_root / "bo-khac").mkdir()
    (json_root / "bo-khac" / first.name.split("__")[1]).write_text(json.dumps(data, ensure_ascii=False),
                                                                  encoding="utf-8")
    ministry_only = {**data, "ma_thu_tuc": "9.999999", "raw_text": "Mã thủ tục9.999999", "cap_thuc_hien": "Cấp bộ"}
    (json_root / "bo-khac" / "9.999999.json").write_text(json.dumps(ministry_only, ensure_ascii=False),
                                                         encoding="utf-8")
    (json_root / "bo-khac" / "broken.json").write_text("{not json", encoding="utf-8")
    return root


def run(raw: Path, out: Path) -> tuple[bytes, str]:
    catalogue, report = out / "catalogue.jsonl", out / "REPORT.md"
    assert import_procedures.main(["--json-root", str(raw / "json"), "--docx-root", str(raw / "docx"),
                                   "--out", str(catalogue), "--report", str(report)]) == 0
    return catalogue.read_bytes(), report.read_text(encoding="utf-8")


def test_same_inputs_give_the_same_file(raw: Path, tmp_path: Path) -> None:
    first, report_one = run(raw, tmp_path / "one")
    second, report_two = run(raw, tmp_path / "two")
    assert first == second and report_one == report_two
    records = list(read_catalogue(tmp_path / "one" / "catalogue.jsonl"))
    assert len(records) >= 15
    assert len({r.code for r in records}) == len(records)
    assert all(r.commune_level or "tỉnh" in r.levels for r in records)
    assert any(r.data_date == "2025-11-27" for r in records), "docx records carry their list's date"


def test_the_report_counts_every_rejection_by_reason(raw: Path, tmp_path: Path) -> None:
    _, report = run(raw, tmp_path)
    assert "duplicate code" in report
    assert "out of scope" in report
    assert "not valid JSON: 1" in report
    assert "9.999999" not in (tmp_path / "catalogue.jsonl").read_text(encoding="utf-8")
