"""The procedure catalogue's record types and the committed catalogue file they are read from.

Pure Python (no third-party imports): the action server, the Telegram gateway, the dashboard and the importer all
read the same records.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

# gzip: the text is 7.5 MB, the compressed file about 1 MB (and the same bytes for the same records: no timestamp)
CATALOGUE_FILE = Path(__file__).resolve().parent.parent / "knowledge" / "procedures" / "catalogue.jsonl.gz"

LEVELS = ("xã", "tỉnh", "bộ", "khác")
CHANNELS = ("Trực tiếp", "Trực tuyến", "Dịch vụ bưu chính")
# Fee kinds. "free" only where the source says free (or 0 đồng) for that way of filing.
FEE_KINDS = ("free", "amount", "provincial", "see_text", "unknown")


class RecordError(ValueError):
    """A catalogue record that breaks the schema."""


@dataclass(frozen=True)
class Fee:
    """The fee for one way of filing, as residents read it."""

    kind: str
    text: str  # "Miễn phí", "50.000 đồng", "Theo mức HĐND tỉnh quy định", "" when unknown


@dataclass(frozen=True)
class Way:
    """One way of filing (in person, online, by post) with its processing time and fee."""

    channel: str
    time: str  # "5 ngày làm việc"; "" when the source gives none
    time_unit_missing: bool  # the source gives a number with no unit
    fee: Fee
    note: str = ""


@dataclass(frozen=True)
class Document:
    """One paper of the dossier."""

    name: str
    originals: int | None = None
    copies: int | None = None
    form: str = ""  # the template's file name on the portal, when the source names one
    group: str = ""  # the case it belongs to ("Trường hợp ủy quyền…"), when the source groups them


@dataclass(frozen=True)
class Procedure:
    """One administrative procedure from the national catalogue, re-derived from the portal's own fields."""

    code: str
    name: str
    levels: tuple[str, ...]
    field: str
    ministry: str
    who: tuple[str, ...]
    agency: str
    where: str
    steps: tuple[str, ...]
    ways: tuple[Way, ...]
    documents: tuple[Document, ...]
    conditions: str
    result: str
    legal_basis: tuple[str, ...]
    online_level: str  # "toàn trình", "một phần" or "" when the source does not say
    source_url: str
    data_date: str  # ISO date of the snapshot the record was derived from
    source: str  # which snapshot ("dichvucong.gov.vn, bản chụp 2026-06-10")
    decision: str = ""
    flags: tuple[str, ...] = dc_field(default=())  # e.g. "names_district": the source still names a district office

    @property
    def commune_level(self) -> bool:
        """Filed at (or through) the commune."""
        return "xã" in self.levels

    @property
    def online(self) -> bool:
        """The source lists an online way of filing."""
        return any(w.channel == "Trực tuyến" for w in self.ways)

    def to_json(self) -> str:
        """One line of the catalogue file (keys in a stable order)."""
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Procedure:
        """Rebuild a record from one catalogue line, checking the schema."""
        try:
            ways = tuple(Way(**{**w, "fee": Fee(**w["fee"])}) for w in data["ways"])
            documents = tuple(Document(**d) for d in data["documents"])
            record = cls(**{**data, "ways": ways, "documents": documents,
                            **{k: tuple(data[k]) for k in ("levels", "who", "steps", "legal_basis", "flags")}})
        except (KeyError, TypeError) as exc:
            raise RecordError(f"{data.get('code', '?')}: {exc}") from exc
        validate(record)
        return record


def validate(record: Procedure) -> None:
    """Raise RecordError when a record cannot be shown to a resident as it is."""
    problems = []
    if not record.code or not all(part.isdigit() for part in record.code.split(".")):
        problems.append("code")
    if not record.name.strip():
        problems.append("name")
    if not record.levels or any(level not in LEVELS for level in record.levels):
        problems.append("levels")
    for way in record.ways:
        if way.channel not in CHANNELS:
            problems.append(f"channel {way.channel!r}")
        if way.fee.kind not in FEE_KINDS:
            problems.append(f"fee kind {way.fee.kind!r}")
        if way.fee.kind == "free" and way.fee.text != "Miễn phí":
            problems.append("free fee text")
    if not record.source_url.startswith("https://"):
        problems.append("source_url")
    if len(record.data_date) != 10 or record.data_date[4] != "-":
        problems.append("data_date")
    if problems:
        raise RecordError(f"{record.code or '?'}: " + ", ".join(problems))


def read_catalogue(path: Path = CATALOGUE_FILE) -> Iterator[Procedure]:
    """Every record of a catalogue file (JSON lines, gzipped when the name ends in .gz), in file order."""
    raw = path.read_bytes()
    text = gzip.decompress(raw).decode("utf-8") if path.suffix == ".gz" else raw.decode("utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                yield Procedure.from_dict(json.loads(line))
            except (json.JSONDecodeError, RecordError) as exc:
                raise RecordError(f"{path.name}:{number}: {exc}") from exc


def write_catalogue(records: Iterable[Procedure], path: Path) -> int:
    """Write records sorted by code, one JSON line each (gzipped for a .gz name); returns how many."""
    ordered = sorted(records, key=lambda r: tuple(int(p) for p in r.code.split(".")))
    data = "".join(r.to_json() + "\n" for r in ordered).encode("utf-8")
    if path.suffix == ".gz":
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as packed:
            packed.write(data)
        data = buffer.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(ordered)
