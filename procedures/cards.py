"""What a resident reads about a catalogue procedure: the answer card and its parts, with buttons and metadata.

Every card names its source (the portal's detail page and the data date). A fee the source leaves to the province
says so; a source that still names a district office is not repeated (districts were abolished on 1/7/2025).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from common.messages import say
from common.text import names_district_office, truncate
from procedures.records import Procedure, Way
from procedures.search import display_name

MAX_CARD_CHARS = 1400  # one phone screen of text; Zalo's limit is 2,000
PARTS = ("summary", "documents", "fee_time", "where", "steps")
PART_TITLES = {part: say(f"card.part.{part}") for part in ("documents", "fee_time", "where", "steps")}
ONLINE_PORTAL = "dichvucong.gov.vn"
HUMAN_BUTTON = {"title": say("button.human"), "payload": "/request_human"}
LEVEL_WORDS = {level: say(f"card.level.{level}") for level in ("xã", "tỉnh", "bộ", "khác")}
DISTRICT_NOTE = say("card.district_note")


@dataclass(frozen=True)
class Place:
    """Where residents of this deployment file commune-level procedures."""

    centre_name: str  # "Trung tâm phục vụ hành chính công xã Ví Dụ"
    centre_line: str  # "📍 Trung tâm …: address, hours, phone"
    police_name: str = ""  # the commune police, who take residence (cư trú) and identity procedures
    police_line: str = ""
    local_fees: dict[str, str] = field(default_factory=dict)  # code → the amount the province set, from the commune

    def office(self, record: Procedure) -> tuple[str, str]:
        """The commune office that takes this procedure: the police for theirs, otherwise the centre."""
        if self.police_name and "công an" in record.agency.lower():
            return self.police_name, self.police_line
        return self.centre_name, self.centre_line


def date_vi(iso: str) -> str:
    """2026-06-10 → 10/06/2026."""
    return dt.date.fromisoformat(iso).strftime("%d/%m/%Y")


def source_line(record: Procedure) -> str:
    """Where the facts come from, with the snapshot date."""
    return say("card.source", code=record.code, date=date_vi(record.data_date), url=record.source_url)


def procedure_button(record: Procedure, part: str = "summary", title: str | None = None) -> dict[str, str]:
    """A button that opens a procedure's card, or one part of it."""
    payload = json.dumps({"procedure": record.code, "part": part}, ensure_ascii=False)
    return {"title": truncate(title or display_name(record), 60), "payload": f"/procedure{payload}"}


def _way_summary(ways: tuple[Way, ...], local_fee: str = "") -> list[str]:
    """One line per distinct (time, fee), naming the ways of filing that share it."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for way in ways:
        unknown = say("card.unknown")
        time = way.time + (" " + say("card.no_unit") if way.time_unit_missing else "") if way.time else unknown
        fee = truncate(way.fee.text, 160) if way.fee.text else unknown
        if way.fee.kind == "provincial" and local_fee:
            fee = say("card.local_fee", fee=local_fee)
        elif way.fee.kind == "see_text" and re.match(r"(Thông tư|Nghị định|Luật|Quyết định|Nghị quyết)\b", fee):
            fee = say("card.per_text", text=fee)
        grouped.setdefault((time, fee), []).append(way.channel)
    return [say("card.way", channels=", ".join(channels), time=time, fee=fee) for (time, fee), channels in grouped.items()]


def _where_lines(record: Procedure, place: Place) -> list[str]:
    lines = []
    if record.commune_level:
        lines.append(place.office(record)[1])
    elif "names_district" not in record.flags and record.agency:
        lines.append(say("card.agency", agency=truncate(record.agency, 160)))
    if "names_district" in record.flags:
        lines.append(DISTRICT_NOTE)
    if record.online:
        level = f" ({record.online_level})" if record.online_level else ""
        lines.append(say("card.online", level=level, portal=ONLINE_PORTAL, name=truncate(display_name(record), 70)))
    else:
        lines.append(say("card.no_online"))
    if any(w.channel == "Dịch vụ bưu chính" for w in record.ways):
        lines.append(say("card.post"))
    return lines


def _where_short(record: Procedure, place: Place) -> str:
    """Where to file, in one line (the "where" part has the address, hours and phone)."""
    online = say("card.or_online", portal=ONLINE_PORTAL) if record.online else ""
    if record.commune_level:
        return say("card.file_at", office=place.office(record)[0], online=online)
    if "names_district" in record.flags or not record.agency:
        return say("card.ask_where", centre=place.centre_name, online=online)
    return say("card.agency_short", agency=truncate(record.agency, 120), online=online)


def _conditional(name: str) -> bool:
    """A paper needed only in some case ("Trường hợp ủy quyền…", "(ii) …", "Lưu ý…")."""
    return bool(re.match(r"^(\(?[ivx]+\)|[a-zđ]\)|trường hợp|lưu ý|nếu|đối với)", name.strip().lower()))


def _documents_lines(record: Procedure, limit: int, width: int = 220, groups: bool = True) -> list[str]:
    lines: list[str] = []
    group = None
    shown = 0
    documents = list(record.documents)
    if not groups:  # the summary: the papers everyone needs first
        documents.sort(key=lambda d: _conditional(d.name))
    for doc in documents:
        if shown >= limit:
            break
        if groups and doc.group != group and doc.group:
            lines.append(f"{truncate(doc.group, 120)}:")
        group = doc.group
        count = []
        if doc.originals:
            count.append(say("card.originals", count=doc.originals))
        if doc.copies:
            count.append(say("card.copies", count=doc.copies))
        lines.append(f"{shown + 1}. {truncate(doc.name, width)}" + (f" ({', '.join(count)})" if count else ""))
        shown += 1
    if len(record.documents) > shown:
        lines.append(say("card.more_documents", count=len(record.documents) - shown))
    if not record.documents:
        lines.append(say("card.no_documents"))
    return lines


def _steps_lines(record: Procedure) -> list[str]:
    lines = [truncate(step, 260) for step in record.steps if "names_district" not in record.flags
             or not names_district_office(step)][:8]
    if not lines:
        lines = [say("card.no_steps")]
    return lines


def card_text(record: Procedure, part: str, place: Place) -> str:
    """The text of one part of a procedure's card."""
    level = ", ".join(LEVEL_WORDS[lv] for lv in record.levels)
    head = f"📋 {truncate(display_name(record), 140)} ({level})"
    if part == "documents":
        body = [f"📄 {PART_TITLES['documents']}:", *_documents_lines(record, 8)]
    elif part == "fee_time":
        local_fee = place.local_fees.get(record.code, "")
        body = [f"⏱ {PART_TITLES['fee_time']}:", *_way_summary(record.ways, local_fee)]
        if any(w.fee.kind == "provincial" for w in record.ways) and not local_fee:
            body.append(say("card.provincial_fee"))
    elif part == "where":
        body = [f"{PART_TITLES['where']}:", *_where_lines(record, place)]
    elif part == "steps":
        body = [f"🪜 {PART_TITLES['steps']}:", *_steps_lines(record)]
    else:
        body = [_where_short(record, place), say("card.main_documents"), *_documents_lines(record, 3, 100, groups=False),
                say("card.time_and_fee"), *_way_summary(record.ways, place.local_fees.get(record.code, ""))]
    text = "\n".join([head, *body])
    source = source_line(record)
    return truncate(text, MAX_CARD_CHARS - len(source) - 2) + "\n\n" + source


def card_message(record: Procedure, part: str, place: Place, walkthrough: str | None = None) -> dict[str, Any]:
    """A procedure's card (or one part of it) with buttons for the other parts, a walkthrough and a person."""
    part = part if part in PARTS else "summary"
    buttons = [procedure_button(record, p, PART_TITLES[p]) for p in ("documents", "fee_time", "where") if p != part]
    if walkthrough:
        buttons.append({"title": say("button.walkthrough"), "payload": f'/start_walkthrough{{"topic": "{walkthrough}"}}'})
    elif part != "steps" and record.steps:
        buttons.append(procedure_button(record, "steps", PART_TITLES["steps"]))
    buttons.append(HUMAN_BUTTON)
    return {
        "text": card_text(record, part, place),
        "buttons": buttons[:5],
        "custom": {"kind": "procedure", "procedure_code": record.code, "procedure_name": display_name(record),
                   "section": part, "source_url": record.source_url, "data_date": record.data_date},
    }


def variants_message(records: list[Procedure], part: str = "summary") -> dict[str, Any]:
    """Procedures residents confuse (khai sinh / khai sinh có yếu tố nước ngoài / đăng ký lại…): which one?"""
    return {
        "text": say("card.variants"),
        "buttons": [procedure_button(r, part) for r in records[:4]] + [HUMAN_BUTTON],
        "custom": {"kind": "clarify", "procedure_candidates": [r.code for r in records[:4]]},
    }
