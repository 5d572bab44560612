"""Procedure guides in knowledge/: parsing, validation, and the passages retrieval indexes."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from common.text import fold, names_district_office

SECTIONS = ("Tóm tắt", "Cần chuẩn bị", "Các bước", "Lỗi thường gặp", "Phí và thời gian", "Hỏi ở đâu")
REQUIRED_KEYS = ("id", "title", "summary", "aliases", "questions", "sources", "reviewed")
PRECONDITIONS = {"vneid-level2", "payment-account", "e-signature", "smartphone-nfc"}
_STEP = re.compile(r"^\s*(\d+)[.)]\s+(.*)$")


@dataclass(frozen=True)
class Section:
    """One part of a guide a resident can read on its own: a `##` section or a `###` problem."""

    guide_id: str
    heading: str
    body: str
    parent: str = ""

    @property
    def key(self) -> str:
        """Stable id of the section inside the knowledge base."""
        return f"{self.guide_id}#{fold(self.heading).replace(' ', '-')}"


@dataclass(frozen=True)
class Source:
    """A page a guide's facts come from, and the parts of the guide that rest on it."""

    name: str
    url: str
    facts: str = ""  # the FACTS.md sections it backs
    parts: tuple[str, ...] = ()  # `##` or `###` headings of the guide whose facts the page holds

    @property
    def official(self) -> bool:
        return ".gov.vn" in self.url

    @property
    def rank(self) -> tuple[bool, bool]:
        """Pages served over https first (some provincial pages are http only: a phone warns before opening them),
        official ones first among those."""
        return not self.url.startswith("https://"), not self.official


@dataclass(frozen=True)
class Guide:
    """A parsed guide: front matter plus sections."""

    id: str
    title: str
    summary: str
    aliases: tuple[str, ...]
    questions: tuple[str, ...]
    sources: tuple[Source, ...]
    reviewed: dt.date
    applies_from: dt.date | None
    related: tuple[str, ...]
    needs: tuple[str, ...]
    sections: tuple[Section, ...] = field(default=())
    stuck: dict[int, tuple[str, ...]] = field(default_factory=dict)
    path: Path | None = None
    procedures: tuple[str, ...] = ()  # codes in the national catalogue this guide covers (it answers for them)
    # heading ("" for the topic as a whole) → example questions that part answers (knowledge/questions/<id>.yml)
    part_questions: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def short_title(self) -> str:
        """Title for buttons: the part before a colon or parenthesis."""
        for sep in (":", " (", " – ", " - "):
            if sep in self.title:
                return self.title.split(sep)[0].strip()
        return self.title

    @property
    def source_url(self) -> str:
        """The guide's first source by rank (https, official): its link when no source names the part shown."""
        ranked = sorted(self.sources, key=lambda s: s.rank)  # stable: in file order within a rank
        return ranked[0].url if ranked else ""

    def source_for(self, section: Section | None) -> str:
        """The page that holds what a part says: among the sources naming the part (else its parent part, for a
        problem under "Lỗi thường gặp"), an https page first and an official one first among those (`Source.rank`),
        then the one naming it earliest in its `parts` (a page about that part rather than one that also touches
        it), then file order; else the guide's first source by the same rank."""
        for heading in (section.heading, section.parent) if section is not None else ("Tóm tắt",):
            naming = [(*s.rank, s.parts.index(heading), i) for i, s in enumerate(self.sources)
                      if heading and heading in s.parts]
            if naming:
                return self.sources[min(naming)[-1]].url
        return self.source_url

    @property
    def steps(self) -> list[str]:
        """The numbered steps of '## Các bước', one string per step."""
        body = self.section("Các bước")
        return parse_steps(body.body) if body else []

    @property
    def problems(self) -> list[Section]:
        """The `###` blocks under '## Lỗi thường gặp'."""
        return [s for s in self.sections if s.parent == "Lỗi thường gặp"]

    def section(self, heading: str) -> Section | None:
        """The `##` section with this heading, if present."""
        return next((s for s in self.sections if s.heading == heading and not s.parent), None)


class GuideError(ValueError):
    """A guide file cannot be parsed."""


def parse_steps(body: str) -> list[str]:
    """Numbered list items of a section body; continuation lines join their item."""
    steps: list[str] = []
    for line in body.splitlines():
        match = _STEP.match(line)
        if match:
            steps.append(match.group(2).strip())
        elif steps and line.strip() and line.startswith((" ", "\t")):
            steps[-1] += " " + line.strip()
    return steps


def _split_front_matter(text: str, path: Path) -> tuple[dict[str, Any], str]:
    if not text.startswith("---"):
        raise GuideError(f"{path.name}: no YAML front matter")
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise GuideError(f"{path.name}: front matter is not closed by '---'")
    try:
        meta = yaml.safe_load(parts[0][3:])
    except yaml.YAMLError as exc:
        raise GuideError(f"{path.name}: broken front matter: {exc}") from exc
    if not isinstance(meta, dict):
        raise GuideError(f"{path.name}: front matter is not a mapping")
    return meta, parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""


def _sections(guide_id: str, body: str) -> list[Section]:
    out: list[Section] = []
    current, sub, lines, sub_lines = "", "", [], []  # type: ignore[var-annotated]

    def flush_sub() -> None:
        if sub and sub_lines:
            out.append(Section(guide_id, sub, "\n".join(sub_lines).strip(), parent=current))

    def flush() -> None:
        if current:
            out.append(Section(guide_id, current, "\n".join(lines).strip()))

    for line in body.splitlines():
        if line.startswith("## "):
            flush_sub()
            flush()
            current, sub, lines, sub_lines = line[3:].strip(), "", [], []
        elif line.startswith("### "):
            flush_sub()
            sub, sub_lines = line[4:].strip(), []
            lines.append(line)
        else:
            lines.append(line)
            if sub:
                sub_lines.append(line)
    flush_sub()
    flush()
    return out


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        raise ValueError(f"{value} has a time; write a plain date YYYY-MM-DD")
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def parse_guide(path: Path) -> Guide:
    """Parse one guide file; raise GuideError when its front matter is broken."""
    meta, body = _split_front_matter(path.read_text(encoding="utf-8"), path)
    missing = [k for k in REQUIRED_KEYS if not meta.get(k)]
    if missing:
        raise GuideError(f"{path.name}: missing front matter keys: {', '.join(missing)}")
    try:
        reviewed, applies_from = _date(meta["reviewed"]), _date(meta.get("applies_from"))
    except ValueError as exc:
        raise GuideError(f"{path.name}: bad date: {exc}") from exc
    sources = meta["sources"]
    if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
        raise GuideError(f"{path.name}: sources must be a list of {{name, url, facts, parts}}")
    guide_id = str(meta["id"])
    return Guide(
        id=guide_id,
        title=str(meta["title"]).strip(),
        summary=str(meta["summary"]).strip(),
        aliases=_strings(meta.get("aliases")),
        questions=_strings(meta.get("questions")),
        sources=tuple(_source(s) for s in sources),
        reviewed=reviewed,  # type: ignore[arg-type]
        applies_from=applies_from,
        related=_strings(meta.get("related")),
        procedures=_strings(meta.get("procedures")),
        needs=_strings(meta.get("needs")),
        sections=tuple(_sections(guide_id, body)),
        stuck=_stuck_map(meta.get("stuck"), path),
        path=path,
        part_questions=load_part_questions(questions_file(path, guide_id)),
    )


def _source(entry: dict[str, Any]) -> Source:
    """One `sources:` entry; `parts` may be one heading or a list."""
    return Source(name=str(entry.get("name") or "").strip(), url=str(entry.get("url") or "").strip(),
                  facts=str(entry.get("facts") or "").strip(), parts=_strings(entry.get("parts")))


def questions_file(guide_path: Path, guide_id: str) -> Path:
    """Where a guide's example questions per part live: knowledge/questions/<id>.yml."""
    return guide_path.parent / "questions" / f"{guide_id}.yml"


def load_part_questions(path: Path) -> dict[str, tuple[str, ...]]:
    """Heading → example questions from a questions file ({} when the guide has none)."""
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    parts = data.get("parts") if isinstance(data, dict) else None
    if not isinstance(parts, dict):
        raise GuideError(f"{path.name}: needs a 'parts' mapping of heading → questions")
    out: dict[str, tuple[str, ...]] = {}
    for heading, questions in parts.items():
        if not isinstance(questions, list):
            raise GuideError(f"{path.name}: part '{heading}' must list questions")
        out[str(heading or "").strip()] = tuple(str(q).strip() for q in questions if str(q).strip())
    return out


def _stuck_map(value: Any, path: Path) -> dict[int, tuple[str, ...]]:
    if not value:
        return {}
    if not isinstance(value, dict):
        raise GuideError(f"{path.name}: stuck must map step numbers to lists of references")
    try:
        return {int(step): _strings(refs) for step, refs in value.items()}
    except (TypeError, ValueError) as exc:
        raise GuideError(f"{path.name}: stuck keys must be step numbers: {exc}") from exc


def guide_files(directory: Path) -> list[Path]:
    """The guide files of a knowledge directory (README.md excluded)."""
    return sorted(p for p in directory.glob("*.md") if p.name.lower() != "readme.md")


def load_guides(directory: Path) -> dict[str, Guide]:
    """Parse every guide in a directory, keyed by id."""
    guides = [parse_guide(p) for p in guide_files(directory)]
    return {g.id: g for g in guides}


def problems_in(guide: Guide, known_ids: set[str] | None = None, today: dt.date | None = None) -> list[str]:
    """Everything wrong with a parsed guide, as readable sentences (empty when the guide is fine)."""
    issues: list[str] = []
    name = guide.path.name if guide.path else guide.id
    if guide.path and guide.path.stem != guide.id:
        issues.append(f"{name}: id '{guide.id}' differs from the file name")
    if not any(s.url.startswith("https://") for s in guide.sources):
        issues.append(f"{name}: no source with an https:// link")
    if not any(s.official for s in guide.sources):
        issues.append(f"{name}: no official .gov.vn source")
    if any(not s.name or not s.url for s in guide.sources):
        issues.append(f"{name}: every source needs a name and a url")
    issues += source_problems(guide, name)
    if today and guide.reviewed > today:
        issues.append(f"{name}: reviewed date {guide.reviewed} is in the future")
    headings = [s.heading for s in guide.sections if not s.parent]
    if headings != list(SECTIONS):
        issues.append(f"{name}: sections must be {list(SECTIONS)}, found {headings}")
    if not 3 <= len(guide.steps) <= 12:
        issues.append(f"{name}: 'Các bước' needs 3–12 numbered steps, found {len(guide.steps)}")
    issues += [f"{name}: step {i} is longer than 400 characters" for i, s in enumerate(guide.steps, 1) if len(s) > 400]
    if len(guide.questions) < 5:
        issues.append(f"{name}: at least 5 example questions are needed")
    unknown = set(guide.needs) - PRECONDITIONS
    if unknown:
        issues.append(f"{name}: unknown preconditions {sorted(unknown)}")
    if known_ids is not None:
        missing = set(guide.related) - known_ids
        if missing:
            issues.append(f"{name}: related guides do not exist: {sorted(missing)}")
    for step, refs in guide.stuck.items():
        if not 1 <= step <= len(guide.steps):
            issues.append(f"{name}: stuck refers to step {step}, but the guide has {len(guide.steps)} steps")
        for ref in refs:
            if "#" not in ref:
                issues.append(f"{name}: stuck reference '{ref}' needs 'guide-id#heading' or '#heading'")
            elif known_ids is not None and ref.split("#", 1)[0] and ref.split("#", 1)[0] not in known_ids:
                issues.append(f"{name}: stuck reference '{ref}' names an unknown guide")
    known_parts = {"", *(s.heading for s in guide.sections)}
    issues += [f"{name}: questions file names a part the guide does not have: '{h}'"
               for h in guide.part_questions if h not in known_parts]
    issues += district_mentions(guide)
    return issues


def source_problems(guide: Guide, name: str) -> list[str]:
    """A source must be the page that holds the facts (not a site's home page) and name the parts that rest on it."""
    issues = []
    headings = {s.heading for s in guide.sections}
    for source in guide.sources:
        address = urlsplit(source.url)
        if source.url and not address.path.strip("/") and not address.query:
            issues.append(f"{name}: source '{source.name}' is a site's home page ({source.url}), "
                          "not the page that holds the fact")
        if not source.parts:
            issues.append(f"{name}: source '{source.name}' names no part of the guide (parts: [...])")
        issues += [f"{name}: source '{source.name}' names a part the guide does not have: '{part}'"
                   for part in source.parts if part not in headings]
    return issues


def district_mentions(guide: Guide) -> list[str]:
    """Lines that send a resident to a district-level office."""
    assert guide.path is not None
    found = []
    for number, line in enumerate(guide.path.read_text(encoding="utf-8").splitlines(), 1):
        if names_district_office(line):
            found.append(f"{guide.path.name}:{number}: names a district office (abolished 1/7/2025): {line.strip()}")
    return found
