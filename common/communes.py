"""The commune's own details (centre, police, hotlines, Zalo OA), one YAML file per commune."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from common.settings import SettingsError
from common.text import fold

COMMUNES_DIR = Path(__file__).resolve().parent.parent / "communes"
# Words in a step (diacritics folded) that mean "go to the commune police" or "go to the public-service centre".
_POLICE = re.compile(r"\bcong an (cap )?(xa|phuong|dac khu)\b(?! ?hoi)")
_CENTRE = re.compile(r"\b(trung tam phuc vu hanh chinh cong|bo phan mot cua|(ubnd|uy ban nhan dan) (cap )?(xa|phuong))\b")


@dataclass(frozen=True)
class Office:
    """A place residents can go to."""

    name: str
    address: str
    hours: str
    phone: str

    def line(self) -> str:
        """One short block for a chat message."""
        return f"📍 {self.name}: {self.address}. Giờ làm việc: {self.hours}. Điện thoại: {self.phone}."


@dataclass(frozen=True)
class Commune:
    """Local details shown next to steps that send residents somewhere."""

    id: str
    name: str
    centre: Office
    police: Office
    hotlines: tuple[tuple[str, str], ...]
    zalo_oa: str
    # the local amount of fees the provincial council sets (HĐND), by catalogue code: "8.000 đồng"
    fees: dict[str, str] = field(default_factory=dict)

    def local_details(self, step_text: str) -> str:
        """The office lines a step needs (police, centre, or none)."""
        folded = fold(step_text)
        lines = []
        if _POLICE.search(folded):
            lines.append(self.police.line())
        if _CENTRE.search(folded):
            lines.append(self.centre.line())
        return "\n".join(lines)


def _text(data: Any, key: str, where: str, needs: str = "name, address, hours and phone") -> str:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(f"commune file: '{where}' needs {needs}, each as text; '{key}' is missing or not text "
                            "(write phone numbers in quotes: \"0200 000 0000\")")
    return value


def _office(data: Any, where: str) -> Office:
    return Office(*(_text(data, k, where) for k in ("name", "address", "hours", "phone")))


def load_commune(path: Path) -> Commune:
    """Read and check one commune file; fail fast with a clear message."""
    if not path.is_file():
        raise SettingsError(f"commune file {path} not found (COMMUNE_ID picks communes/<id>.yml)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"commune file {path.name} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"commune file {path.name} must be a mapping of id, name, centre, police, hotlines, zalo_oa")
    missing = [k for k in ("id", "name", "centre", "police", "hotlines", "zalo_oa") if not data.get(k)]
    if missing:
        raise SettingsError(f"commune file {path.name}: missing {', '.join(missing)}")
    if not isinstance(data["hotlines"], list):
        raise SettingsError(f"commune file {path.name}: hotlines must be a list of {{name, phone}}")
    where = f"{path.name} hotlines"
    hotlines = tuple((_text(h, "name", where, "name and phone"), _text(h, "phone", where, "name and phone"))
                     for h in data["hotlines"])
    fees = data.get("fees") or {}
    if not isinstance(fees, dict) or not all(isinstance(v, str) and v.strip() for v in fees.values()):
        raise SettingsError(f"commune file {path.name}: fees must map a procedure code (\"1.004873\") to the local "
                            "amount as text (\"8.000 đồng\")")
    return Commune(_text(data, "id", path.name, "id"), _text(data, "name", path.name, "name"),
                   _office(data["centre"], "centre"), _office(data["police"], "police"), hotlines,
                   _text(data, "zalo_oa", path.name, "zalo_oa"), {str(k): v.strip() for k, v in fees.items()})

