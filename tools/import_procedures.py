"""Build knowledge/procedures/catalogue.jsonl.gz from snapshots of the national procedure catalogue.

    .venv/app/bin/python tools/import_procedures.py --json-root RAW/scripts/crawler/data/raw \\
        --docx-root RAW/Knowlegd-rag/downloads_ministries       (`make catalogue RAW=…` does this)

Inputs (kept outside the repository; how to get them: knowledge/procedures/README.md):
- crawled JSON, `<ministry>/<code>.json`, snapshot date from --json-date (per ministry via --json-date-for);
- the portal's Word exports, `<folder>/huong_dan/<code>.docx`, dated by the `danh_sach_*.txt` beside them.
Same inputs → same output: records sorted by code, the report sorted by reason.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.text import fold, names_district_office  # noqa: E402
from procedures.records import Procedure, write_catalogue  # noqa: E402
from procedures.source import SourceError, read_docx, read_json, to_record  # noqa: E402

OUT_DIR = ROOT / "knowledge" / "procedures"
MINISTRY_FOLDERS = {
    "bo-cong-an": "Bộ Công an", "bo-nong-nghiep-mt": "Bộ Nông nghiệp và Môi trường", "bo-tai-chinh": "Bộ Tài chính",
    "bo-tu-phap": "Bộ Tư pháp", "bo-xay-dung": "Bộ Xây dựng", "ngan-hang-nha-nuoc": "Ngân hàng Nhà nước",
    "toa-an-nhan-dan": "Tòa án nhân dân tối cao",
}
# Provincial procedures residents commonly ask about (the commune's centre receives or forwards many of them).
RESIDENT_FIELDS = (
    "Đất đai", "Quản lý xuất nhập cảnh", "Đường bộ", "Sát hạch, cấp giấy phép lái xe", "Cấp, quản lý căn cước",
    "Đăng ký biện pháp bảo đảm", "Nuôi con nuôi", "Quốc tịch", "Lý lịch tư pháp", "Hộ tịch", "Trợ giúp pháp lý",
    "Chính sách", "Người có công", "Công chứng", "Chứng thực", "Nhà ở và công sở", "Hoạt động xây dựng",
    "Bảo trợ xã hội", "Đăng ký, quản lý cư trú", "Thuế", "Khiếu nại, tố cáo", "Bảo hiểm xã hội", "Bảo hiểm y tế",
    "Việc làm", "Giáo dục", "Khám bệnh, chữa bệnh", "Dân số", "Trẻ em", "Phòng, chống tệ nạn xã hội",
)
RESIDENTS = ("Công dân Việt Nam", "Người Việt Nam định cư ở nước ngoài", "Hộ kinh doanh", "Hộ gia đình")


def in_scope(record: Procedure) -> str | None:
    """Why a record belongs in the committed catalogue (None: it does not)."""
    if record.commune_level:
        return "commune"
    residents = any(who.startswith(RESIDENTS) for who in record.who)
    if "tỉnh" in record.levels and residents and any(record.field.startswith(f) for f in RESIDENT_FIELDS):
        return "province"
    return None


def docx_dates(root: Path) -> dict[Path, str]:
    """Each export folder's date, from the "Ngày tạo: YYYY-MM-DD" line of its list file."""
    dates = {}
    for listing in sorted(root.glob("*/danh_sach_*.txt")):
        found = re.search(r"Ngày tạo:\s*(\d{4}-\d{2}-\d{2})", listing.read_text(encoding="utf-8"))
        if found:
            dates[listing.parent] = found.group(1)
    return dates


def load(args: argparse.Namespace) -> tuple[list[Procedure], collections.Counter[str], list[str]]:
    """Read every source file; newer snapshots win; returns records in scope, rejection counts and report lines."""
    rejected: collections.Counter[str] = collections.Counter()
    notes: list[str] = []
    by_code: dict[str, Procedure] = {}

    def keep(record: Procedure, origin: str) -> None:
        old = by_code.get(record.code)
        if old is None or (record.data_date, len(record.documents)) > (old.data_date, len(old.documents)):
            if old is not None:
                rejected[f"duplicate code (kept the {'newer' if record.data_date > old.data_date else 'fuller'} one)"] += 1
            by_code[record.code] = record
        else:
            rejected[f"duplicate code (kept the {'newer' if old.data_date > record.data_date else 'fuller'} one)"] += 1

    if args.json_root:
        dates = dict(args.json_date_for or [])
        for path in sorted(Path(args.json_root).glob("*/*.json")):
            folder = path.parent.name
            date = dates.get(folder, args.json_date)
            try:
                raw = read_json(json.loads(path.read_text(encoding="utf-8")), MINISTRY_FOLDERS.get(folder, ""), date,
                                f"dichvucong.gov.vn, bản chụp {date}")
                if raw.code != path.stem:
                    notes.append(f"{folder}/{path.name}: the page inside is {raw.code}; filed under that code")
                keep(to_record(raw), str(path))
            except (SourceError, json.JSONDecodeError) as exc:
                rejected[str(exc) if isinstance(exc, SourceError) else "not valid JSON"] += 1
    if args.docx_root:
        root = Path(args.docx_root)
        dates_by_folder = docx_dates(root)
        for path in sorted(root.glob("*/huong_dan/*.docx")):
            date = dates_by_folder.get(path.parent.parent)
            if not date:
                rejected["Word export without a dated list"] += 1
                continue
            try:
                keep(to_record(read_docx(path, date, f"dichvucong.gov.vn (ChiTietTTHC), bản xuất {date}")), str(path))
            except SourceError as exc:
                rejected[str(exc)] += 1

    kept: list[Procedure] = []
    by_name: dict[tuple[str, tuple[str, ...]], Procedure] = {}
    for record in sorted(by_code.values(), key=lambda r: (r.data_date, len(r.documents)), reverse=True):
        if not in_scope(record):
            rejected["out of scope (not filed at the commune; not a provincial procedure residents file)"] += 1
            continue
        if names_district_office(record.name):
            rejected["its name is the district-level variant (districts abolished 1/7/2025)"] += 1
            notes.append(f"{record.code} dropped: {record.name}")
            continue
        key = (fold(record.name), record.levels)
        if key in by_name:
            rejected["near-duplicate: same name and levels as a newer or fuller record"] += 1
            notes.append(f"{record.code} dropped: same name and levels as {by_name[key].code}")
            continue
        by_name[key] = record
        kept.append(record)
    return kept, rejected, notes


def report(kept: list[Procedure], rejected: collections.Counter[str], notes: list[str]) -> str:
    """The import report (Markdown)."""
    levels = collections.Counter("commune" if r.commune_level else "province" for r in kept)
    flags = collections.Counter(flag for r in kept for flag in r.flags)
    fees = collections.Counter(w.fee.kind for r in kept for w in r.ways)
    ministries = collections.Counter(r.ministry or "(không rõ)" for r in kept)
    dates = collections.Counter(r.data_date for r in kept)
    lines = ["# Procedure catalogue: import report", "",
             "Written by `tools/import_procedures.py`; do not edit by hand.", "",
             f"**Kept: {len(kept)}** ({levels['commune']} filed at the commune, {levels['province']} provincial "
             "procedures residents file).", "", "## Rejected, by reason", ""]
    lines += [f"- {reason}: {count}" for reason, count in sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines += ["", "## Kept records", ""]
    lines += [f"- snapshot {date}: {count}" for date, count in sorted(dates.items())]
    lines += [f"- {m}: {c}" for m, c in sorted(ministries.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines += ["", "Fee per way of filing: " + ", ".join(f"{k} {v}" for k, v in sorted(fees.items())), "",
              "Flags: " + (", ".join(f"{k} {v}" for k, v in sorted(flags.items())) or "none"),
              "(`names_district`: the source still names a district office; answers do not repeat it and send the "
              "resident to the commune's centre to ask where to file now. `time_without_unit`: the source gives a "
              "number without a unit; answers say so.)", "", "## Notes", ""]
    lines += [f"- {note}" for note in sorted(notes)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json-root", help="folder of <ministry>/<code>.json")
    parser.add_argument("--json-date", default="2026-06-10", help="snapshot date of the JSON crawl")
    parser.add_argument("--json-date-for", nargs=2, action="append", metavar=("FOLDER", "DATE"),
                        help="a different snapshot date for one ministry folder")
    parser.add_argument("--docx-root", help="folder of <folder>/huong_dan/<code>.docx exports")
    parser.add_argument("--out", type=Path, default=OUT_DIR / "catalogue.jsonl.gz")
    parser.add_argument("--report", type=Path, default=OUT_DIR / "REPORT.md")
    args = parser.parse_args(argv)
    if not args.json_root and not args.docx_root:
        parser.error("give --json-root and/or --docx-root")
    kept, rejected, notes = load(args)
    count = write_catalogue(kept, args.out)
    args.report.write_text(report(kept, rejected, notes), encoding="utf-8")
    print(f"kept {count} → {args.out} ({args.out.stat().st_size / 1e6:.1f} MB); rejected {sum(rejected.values())}: "
          + "; ".join(f"{k} {v}" for k, v in rejected.most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
