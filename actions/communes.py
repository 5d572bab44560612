"""The commune's own details (centre, police, hotlines, Zalo OA), one YAML file per commune."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from actions.settings import ROOT, SettingsError
from actions.text import fold

COMMUNES_DIR = ROOT / "communes"
# Words in a step that mean "go to the commune police" or "go to the public-service centre".
_POLICE_WORDS = ("cong an xa", "cong an phuong", "cong an cap xa", "cong an xa/phuong")
_CENTRE_WORDS = ("trung tam phuc vu hanh chinh cong", "bo phan mot cua", "ubnd xa", "uy ban nhan dan xa", "ubnd cap xa")


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

    def local_details(self, step_text: str) -> str:
        """The office lines a step needs (police, centre, or none)."""
        folded = fold(step_text)
        lines = []
        if any(w in folded for w in _POLICE_WORDS):
            lines.append(self.police.line())
        if any(w in folded for w in _CENTRE_WORDS):
            lines.append(self.centre.line())
        return "\n".join(lines)

    def contacts(self) -> str:
        """Hotlines and where to get help in person."""
        hot = "\n".join(f"☎️ {name}: {phone}" for name, phone in self.hotlines)
        return f"{hot}\n{self.centre.line()}\n{self.zalo_oa}"


def _office(data: Any, where: str) -> Office:
    try:
        return Office(*(str(data[k]) for k in ("name", "address", "hours", "phone")))
    except (KeyError, TypeError) as exc:
        raise SettingsError(f"commune file: '{where}' needs name, address, hours and phone") from exc


def load_commune(path: Path) -> Commune:
    """Read and check one commune file; fail fast with a clear message."""
    if not path.is_file():
        raise SettingsError(f"commune file {path} not found (COMMUNE_ID picks communes/<id>.yml)")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    missing = [k for k in ("id", "name", "centre", "police", "hotlines", "zalo_oa") if not data.get(k)]
    if missing:
        raise SettingsError(f"commune file {path.name}: missing {', '.join(missing)}")
    hotlines = tuple((str(h["name"]), str(h["phone"])) for h in data["hotlines"])
    return Commune(str(data["id"]), str(data["name"]), _office(data["centre"], "centre"),
                   _office(data["police"], "police"), hotlines, str(data["zalo_oa"]))


@lru_cache(maxsize=1)
def get_commune() -> Commune:
    """The commune this deployment serves (COMMUNE_ID, default the example file)."""
    from actions.settings import get_settings

    return load_commune(COMMUNES_DIR / f"{get_settings().commune_id}.yml")
