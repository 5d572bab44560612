"""The guide validator, run on the real knowledge/ and on broken guides written to a temporary folder."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions import replies
from actions.knowledge import guide_for_intent
from common.guides import (
    PRECONDITIONS,
    SECTIONS,
    Guide,
    GuideError,
    guide_files,
    load_guides,
    parse_guide,
    parse_steps,
    problems_in,
)

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = ROOT / "knowledge"
GUIDE_FILES = guide_files(KNOWLEDGE)
ZALO_LIMIT = 2000
TOPICS = (
    "vneid-register-level2 vneid-activate vneid-troubleshoot dvc-login dvc-submit dvc-track payment-online "
    "payment-troubleshoot e-signature birth-registration residence-registration judicial-record certified-copy "
    "marriage-registration death-registration scam-safety support-contacts can-cuoc"
).split()
_STEP_NUMBER = re.compile(r"^\d+[.)]\s")


def _by_file(paths: list[Path]):  # type: ignore[no-untyped-def]
    return pytest.mark.parametrize("path", paths, ids=[p.stem for p in paths])


@pytest.fixture(scope="module")
def guides() -> dict[str, Guide]:
    return load_guides(KNOWLEDGE)


# --- the real knowledge base ---------------------------------------------------------------------------------


def test_knowledge_has_guides_and_skips_readme() -> None:
    assert len(GUIDE_FILES) >= len(TOPICS)
    assert all(p.name.lower() != "readme.md" for p in GUIDE_FILES)


@_by_file(GUIDE_FILES)
def test_guide_is_valid(path: Path) -> None:
    known = {p.stem for p in GUIDE_FILES}
    guide = parse_guide(path)
    assert problems_in(guide, known_ids=known, today=dt.date.today()) == []


@_by_file(GUIDE_FILES)
def test_every_part_of_a_guide_has_example_questions(path: Path) -> None:
    """Each `##` part and `###` problem, and the topic as a whole, has resident questions it answers
    (knowledge/questions/<id>.yml): they steer the answer to the part that holds it, and train the classifier."""
    guide = parse_guide(path)
    parts = {"", *(s.heading for s in guide.sections if s.heading not in ("Tóm tắt", "Lỗi thường gặp") or s.parent)}
    thin = {h: len(guide.part_questions.get(h, ())) for h in parts if len(guide.part_questions.get(h, ())) < 4}
    assert not thin, f"{path.stem}: parts with fewer than 4 example questions: {thin}"


@_by_file(GUIDE_FILES)
def test_guide_id_is_its_file_name(path: Path) -> None:
    assert parse_guide(path).id == path.stem


def test_guide_ids_are_unique() -> None:
    ids = [parse_guide(p).id for p in GUIDE_FILES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("topic", TOPICS)
def test_topic_has_a_guide(topic: str, guides: dict[str, Guide]) -> None:
    assert topic in guides


def test_menu_topics_have_guides(guides: dict[str, Guide]) -> None:
    assert set(replies.MENU_TOPICS) <= set(guides)


def test_every_topic_intent_in_the_domain_names_a_guide(guides: dict[str, Guide]) -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    intents = [i if isinstance(i, str) else next(iter(i)) for i in domain.get("intents", [])]
    topic_intents = [i for i in intents if i.startswith("ask_")]
    assert topic_intents, "domain.yml lists no ask_* intents"
    assert {i: guide_for_intent(i) for i in topic_intents if guide_for_intent(i) not in guides} == {}


@_by_file(GUIDE_FILES)
def test_reviewed_date_is_not_in_the_future(path: Path) -> None:
    guide = parse_guide(path)
    assert guide.reviewed <= dt.date.today()
    if guide.applies_from:
        assert guide.applies_from <= guide.reviewed


@_by_file(GUIDE_FILES)
def test_every_answer_fits_a_zalo_message(path: Path) -> None:
    guide = parse_guide(path)
    for section in (None, *guide.sections):
        message = replies.answer_message(guide, section, confidence=0.5)
        heading = section.heading if section else "Tóm tắt"
        link = guide.source_for(section)
        limit = replies.MAX_ANSWER_CHARS * (2 if heading == "Các bước" else 1)  # the whole list of steps: two
        assert len(message["text"]) - max(0, len(link) - replies.LINK_BUDGET) <= limit, heading
        assert len(message["text"]) < ZALO_LIMIT
        # no prefix is added to answers any more: the channel sends its OTP warning as a reply of its own
        assert message["text"].endswith(f"Nguồn: {guide.source_for(section)} (cập nhật {guide.reviewed:%d/%m/%Y})")
        assert message["custom"]["source_url"] == guide.source_for(section)
    assert len(replies.steps_message(guide)["text"]) < ZALO_LIMIT


@_by_file(GUIDE_FILES)
def test_a_long_source_link_never_cuts_the_answer(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    guide = parse_guide(path)
    sections = (None, *guide.sections)
    answers = [replies.answer_message(guide, s)["text"].rsplit("\n\n", 1)[0] for s in sections]
    # the same answers when every link counts in full: its first LINK_BUDGET characters
    real = Guide.source_for
    monkeypatch.setattr(Guide, "source_for", lambda self, section: real(self, section)[: replies.LINK_BUDGET])
    assert answers == [replies.answer_message(guide, s)["text"].rsplit("\n\n", 1)[0] for s in sections]


@_by_file(GUIDE_FILES)
def test_guide_shape(path: Path) -> None:
    guide = parse_guide(path)
    assert guide.source_url.startswith("https://")
    assert all(step and not _STEP_NUMBER.match(step) for step in guide.steps)
    assert guide.problems, "'Lỗi thường gặp' has no ### problems"
    assert set(guide.needs) <= PRECONDITIONS
    keys = [s.key for s in guide.sections]
    assert len(keys) == len(set(keys)), "two sections share a heading"


# --- broken guides -------------------------------------------------------------------------------------------

STEPS = [
    "Mở ứng dụng VNeID trên điện thoại.",
    "Chọn mục Thủ tục hành chính.",
    "Điền tờ khai và bấm Gửi.",
]


def front_matter(**changes: Any) -> dict[str, Any]:
    """A valid front matter; a change set to None removes the key."""
    meta: dict[str, Any] = {
        "id": "sample-guide",
        "title": "Hướng dẫn mẫu: làm thử",
        "summary": "Một hướng dẫn mẫu để thử bộ kiểm tra.",
        "aliases": ["mẫu", "thử"],
        "questions": [f"Câu hỏi mẫu số {i}?" for i in range(1, 7)],
        "sources": [
            {"name": "Cổng Dịch vụ công quốc gia – Hướng dẫn", "url": "https://dichvucong.gov.vn/p/huong-dan.html",
             "facts": "FACTS §1", "parts": ["Các bước", "Hỏi ở đâu"]},
            {"name": "Một tờ báo", "url": "https://example.com/bai-viet", "facts": "FACTS §2",
             "parts": ["Phí và thời gian", "Không nhận được OTP"]},
        ],
        "reviewed": dt.date(2025, 11, 1),
        "applies_from": dt.date(2025, 7, 1),
        "related": ["dvc-login"],
        "needs": ["vneid-level2"],
    }
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    return meta


def body(sections: tuple[str, ...] = SECTIONS, steps: list[str] = STEPS, extra: str = "") -> str:
    """A guide body with the given ## sections; `extra` is appended to 'Hỏi ở đâu'."""
    parts = []
    for heading in sections:
        text = {
            "Tóm tắt": "Anh/chị làm trên VNeID, miễn phí.",
            "Cần chuẩn bị": "- Thẻ căn cước.\n- Điện thoại có mạng.",
            "Các bước": "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1)),
            "Lỗi thường gặp": "### Không nhận được OTP\nChờ một lúc rồi bấm Gửi lại.",
            "Phí và thời gian": "- Miễn phí.",
            "Hỏi ở đâu": "- UBND xã, phường nơi anh/chị ở.\n- Công an xã." + (f"\n- {extra}" if extra else ""),
        }.get(heading, "Nội dung khác.")
        parts.append(f"## {heading}\n{text}\n")
    return "\n".join(parts)


def write_guide(
    directory: Path,
    meta: dict[str, Any] | None = None,
    text: str | None = None,
    name: str = "sample-guide.md",
    **body_args: Any,
) -> Path:
    """Write a guide file; `text` replaces the whole file when given."""
    if text is None:
        dumped = yaml.safe_dump(meta if meta is not None else front_matter(), allow_unicode=True, sort_keys=False)
        text = f"---\n{dumped}---\n\n{body(**body_args)}"
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, **kwargs: Any) -> list[str]:
    kwargs.setdefault("known_ids", {"sample-guide", "dvc-login"})
    kwargs.setdefault("today", dt.date(2026, 1, 1))
    return problems_in(parse_guide(path), **kwargs)


def test_part_questions_are_read_from_the_questions_folder(tmp_path: Path) -> None:
    path = write_guide(tmp_path)
    assert parse_guide(path).part_questions == {}
    (tmp_path / "questions").mkdir()
    (tmp_path / "questions" / "sample-guide.yml").write_text(
        'guide: sample-guide\nparts:\n  "":\n    - cho hỏi về việc này\n  "Không nhận được OTP":\n'
        '    - " chờ mãi không thấy mã "\n', encoding="utf-8")
    guide = parse_guide(path)
    assert guide.part_questions == {"": ("cho hỏi về việc này",), "Không nhận được OTP": ("chờ mãi không thấy mã",)}
    assert problems(path) == []


@pytest.mark.parametrize(("text", "message"), [("guide: sample-guide\n", "needs a 'parts' mapping"),
                                                ('parts:\n  "Các bước": một câu\n', "must list questions")])
def test_broken_questions_file_is_rejected(tmp_path: Path, text: str, message: str) -> None:
    path = write_guide(tmp_path)
    (tmp_path / "questions").mkdir()
    (tmp_path / "questions" / "sample-guide.yml").write_text(text, encoding="utf-8")
    with pytest.raises(GuideError, match=message):
        parse_guide(path)


def test_questions_for_a_part_the_guide_lacks_are_a_problem(tmp_path: Path) -> None:
    path = write_guide(tmp_path)
    (tmp_path / "questions").mkdir()
    (tmp_path / "questions" / "sample-guide.yml").write_text('parts:\n  "Lệ phí":\n    - bao nhiêu tiền\n',
                                                             encoding="utf-8")
    assert problems(path) == ["sample-guide.md: questions file names a part the guide does not have: 'Lệ phí'"]


def test_sample_guide_is_valid(tmp_path: Path) -> None:
    path = write_guide(tmp_path)
    guide = parse_guide(path)
    assert problems(path) == []
    assert guide.steps == STEPS
    assert [p.heading for p in guide.problems] == ["Không nhận được OTP"]
    assert guide.short_title == "Hướng dẫn mẫu"
    assert guide.source_url == "https://dichvucong.gov.vn/p/huong-dan.html"
    assert guide.section("Tóm tắt") is not None and guide.section("Nope") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# Không có front matter\n\n## Tóm tắt\nabc\n", "no YAML front matter"),
        ("---\nid: x\ntitle: y\n\n## Tóm tắt\nabc\n", "not closed"),
        ("---\nid: [x\ntitle: y: z\n---\n\n## Tóm tắt\n", "broken front matter"),
        ("---\n- id\n- title\n---\n\n## Tóm tắt\n", "not a mapping"),
        ("---\n---\n\n## Tóm tắt\n", "not a mapping"),
    ],
    ids=["no-front-matter", "unclosed", "broken-yaml", "list", "empty"],
)
def test_broken_front_matter_is_rejected(tmp_path: Path, text: str, message: str) -> None:
    path = write_guide(tmp_path, text=text)
    with pytest.raises(GuideError, match=message):
        parse_guide(path)


@pytest.mark.parametrize("key", ["id", "title", "summary", "aliases", "questions", "sources", "reviewed"])
def test_missing_required_key_is_rejected(tmp_path: Path, key: str) -> None:
    path = write_guide(tmp_path, front_matter(**{key: None}))
    with pytest.raises(GuideError, match=f"missing front matter keys: {key}"):
        parse_guide(path)


def test_empty_sources_are_missing(tmp_path: Path) -> None:
    path = write_guide(tmp_path, front_matter(sources=[]))
    with pytest.raises(GuideError, match="sources"):
        parse_guide(path)


@pytest.mark.parametrize("sources", [["https://dichvucong.gov.vn"], {"name": "x", "url": "https://a.gov.vn"}])
def test_sources_must_be_a_list_of_mappings(tmp_path: Path, sources: Any) -> None:
    path = write_guide(tmp_path, front_matter(sources=sources))
    with pytest.raises(GuideError, match="sources must be a list"):
        parse_guide(path)


@pytest.mark.parametrize("key", ["reviewed", "applies_from"])
@pytest.mark.parametrize("value", ["2025-13-01", "22/11/2025", "hôm qua", "2025-02-30"])
def test_bad_date_is_rejected(tmp_path: Path, key: str, value: str) -> None:
    path = write_guide(tmp_path, front_matter(**{key: value}))
    with pytest.raises(GuideError, match="bad date"):
        parse_guide(path)


def test_quoted_iso_date_is_accepted(tmp_path: Path) -> None:
    path = write_guide(tmp_path, front_matter(reviewed="2025-11-01"))
    assert parse_guide(path).reviewed == dt.date(2025, 11, 1)


@pytest.mark.parametrize("key", ["reviewed", "applies_from"])
def test_date_with_a_time_is_reported_not_a_crash(tmp_path: Path, key: str) -> None:
    # 'reviewed: 2025-11-01 10:00:00' loads as a datetime; comparing it with today's date used to raise TypeError
    path = write_guide(tmp_path, front_matter(**{key: dt.datetime(2025, 11, 1, 10, 0)}))
    assert f"{key}: 2025-11-01 10:00:00" in path.read_text(encoding="utf-8")
    with pytest.raises(GuideError, match="bad date: 2025-11-01 10:00:00 has a time"):
        parse_guide(path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sources": [{"name": "Báo", "url": "https://vnexpress.net"}]}, "no official .gov.vn source"),
        ({"sources": [{"name": "Cổng", "url": "http://dichvucong.gov.vn"}]}, "no source with an https:// link"),
        (
            {"sources": [{"name": "Cổng", "url": "https://dichvucong.gov.vn"}, {"url": "https://a.vn"}]},
            "every source needs a name and a url",
        ),
        (
            {"sources": [{"name": "Cổng", "url": "https://dichvucong.gov.vn"}, {"name": "Báo"}]},
            "every source needs a name and a url",
        ),
        ({"reviewed": dt.date(2026, 6, 1)}, "is in the future"),
        ({"id": "other-id"}, "differs from the file name"),
        ({"questions": ["Một?", "Hai?", "Ba?", "Bốn?"]}, "at least 5 example questions"),
        ({"needs": ["vneid-level3"]}, "unknown preconditions ['vneid-level3']"),
        ({"related": ["dvc-login", "no-such-guide"]}, "related guides do not exist: ['no-such-guide']"),
    ],
    ids=[
        "not-gov-vn",
        "not-https",
        "source-no-name",
        "source-no-url",
        "future",
        "id-not-file-name",
        "few-questions",
        "unknown-need",
        "unknown-related",
    ],
)
def test_front_matter_problems(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    path = write_guide(tmp_path, front_matter(**changes))
    found = problems(path)
    assert any(message in p for p in found), found
    assert all(p.startswith("sample-guide.md") for p in found)


def test_future_date_is_only_checked_against_a_given_today(tmp_path: Path) -> None:
    path = write_guide(tmp_path, front_matter(reviewed=dt.date(2026, 6, 1)))
    assert problems_in(parse_guide(path), known_ids={"dvc-login"}) == []


def test_related_guides_are_only_checked_against_given_ids(tmp_path: Path) -> None:
    path = write_guide(tmp_path, front_matter(related=["no-such-guide"]))
    assert problems(path, known_ids=None) == []


@pytest.mark.parametrize(
    "sections",
    [
        ("Cần chuẩn bị", "Tóm tắt", "Các bước", "Lỗi thường gặp", "Phí và thời gian", "Hỏi ở đâu"),
        ("Tóm tắt", "Cần chuẩn bị", "Các bước", "Phí và thời gian", "Lỗi thường gặp", "Hỏi ở đâu"),
        ("Tóm tắt", "Cần chuẩn bị", "Các bước", "Lỗi thường gặp", "Phí và thời gian"),
        (*SECTIONS, "Ghi chú"),
    ],
    ids=["swapped-first", "swapped-middle", "missing-last", "extra"],
)
def test_wrong_sections_are_a_problem(tmp_path: Path, sections: tuple[str, ...]) -> None:
    path = write_guide(tmp_path, sections=sections)
    assert any("sections must be" in p for p in problems(path))


@pytest.mark.parametrize("count", [0, 2, 13])
def test_step_count_outside_3_to_12_is_a_problem(tmp_path: Path, count: int) -> None:
    path = write_guide(tmp_path, steps=[f"Bước thứ {i}." for i in range(1, count + 1)])
    assert any(f"found {count}" in p for p in problems(path))


def test_long_step_is_a_problem(tmp_path: Path) -> None:
    path = write_guide(tmp_path, steps=[*STEPS, "Bấm " + "rất " * 120 + "lâu."])
    assert any("step 4 is longer than 400 characters" in p for p in problems(path))


@pytest.mark.parametrize(
    "line",
    [
        "Nộp hồ sơ tại UBND huyện nơi anh/chị ở.",
        "Mang giấy tờ đến Công an quận để làm thủ tục.",
        "Việc này do cấp huyện giải quyết.",
        "Hỏi Phòng Tư pháp huyện.",
        "Liên hệ Ủy ban nhân dân thị xã.",
        "Đến bộ phận một cửa quận/huyện.",
        "NỘP Ở CÔNG AN HUYỆN.",
        "Hỏi Tòa án quận nơi anh/chị ở.",
        "Hỏi UBND quận, huyện.",
    ],
)
def test_line_sending_residents_to_a_district_office_is_a_problem(tmp_path: Path, line: str) -> None:
    path = write_guide(tmp_path, extra=line)
    found = [p for p in problems(path) if "district office" in p]
    assert len(found) == 1
    number = next(i for i, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line in text)
    assert found[0].startswith(f"sample-guide.md:{number}:")
    assert line in found[0]


@pytest.mark.parametrize(
    "line",
    [
        "Từ 1/7/2025 không còn cấp huyện, anh/chị làm ở xã.",
        "Phòng Tư pháp huyện đã bãi bỏ; chứng thực làm ở UBND xã.",
        "Công an huyện đã bỏ, nay Công an xã làm.",
        "Đến UBND xã hoặc Công an phường.",
        "Huyện cũ của anh/chị giờ thuộc xã mới.",
    ],
)
def test_line_saying_districts_are_gone_passes(tmp_path: Path, line: str) -> None:
    path = write_guide(tmp_path, extra=line)
    assert problems(path) == []


@pytest.mark.parametrize(
    "line",
    [
        "Hộ chiếu làm tại Phòng Quản lý xuất nhập cảnh Công an tỉnh.",
        "Cơ quan công an quản lý cư trú sẽ nhắn tin cho anh/chị.",
        "PHÒNG QUẢN LÝ XUẤT NHẬP CẢNH.",
        "Bệnh viện quản lý hồ sơ khám.",
    ],
)
def test_province_office_named_quan_ly_passes(tmp_path: Path, line: str) -> None:
    # the check reads accented text, where 'quản' (manage) is not 'quận' (district)
    path = write_guide(tmp_path, extra=line)
    assert problems(path) == []


def test_district_check_reads_decomposed_text(tmp_path: Path) -> None:
    line = unicodedata.normalize("NFD", "Nộp hồ sơ tại UBND huyện nơi anh/chị ở.")
    path = write_guide(tmp_path, extra=line)
    assert len([p for p in problems(path) if "district office" in p]) == 1


# --- the walkthrough's stuck: map ----------------------------------------------------------------------------


def test_stuck_map_is_parsed(tmp_path: Path) -> None:
    meta = front_matter(
        stuck={1: "#Không nhận được OTP", 3: ["dvc-login#Quét mã QR không được", "#Không nhận được OTP"]}
    )
    guide = parse_guide(write_guide(tmp_path, meta))
    assert guide.stuck == {1: ("#Không nhận được OTP",), 3: ("dvc-login#Quét mã QR không được", "#Không nhận được OTP")}
    assert problems(write_guide(tmp_path, meta)) == []


@pytest.mark.parametrize("stuck", [None, {}, []], ids=["absent", "empty-map", "empty-list"])
def test_stuck_map_is_optional(tmp_path: Path, stuck: Any) -> None:
    assert parse_guide(write_guide(tmp_path, front_matter(stuck=stuck))).stuck == {}  # None leaves the key out


@pytest.mark.parametrize(
    ("stuck", "message"),
    [
        (["#Không nhận được OTP"], "stuck must map step numbers to lists of references"),
        ("#Không nhận được OTP", "stuck must map step numbers to lists of references"),
        ({"một": ["#Không nhận được OTP"]}, "stuck keys must be step numbers"),
        ({"1.5": ["#Không nhận được OTP"]}, "stuck keys must be step numbers"),
    ],
    ids=["list", "text", "word-key", "fraction-key"],
)
def test_broken_stuck_map_is_rejected(tmp_path: Path, stuck: Any, message: str) -> None:
    with pytest.raises(GuideError, match=f"sample-guide.md: {message}"):
        parse_guide(write_guide(tmp_path, front_matter(stuck=stuck)))


@pytest.mark.parametrize(
    ("stuck", "message"),
    [
        ({4: ["#Không nhận được OTP"]}, "stuck refers to step 4, but the guide has 3 steps"),
        ({0: ["#Không nhận được OTP"]}, "stuck refers to step 0, but the guide has 3 steps"),
        ({2: ["Không nhận được OTP"]}, "stuck reference 'Không nhận được OTP' needs 'guide-id#heading' or '#heading'"),
        ({2: ["no-such-guide#Lỗi"]}, "stuck reference 'no-such-guide#Lỗi' names an unknown guide"),
    ],
    ids=["step-past-the-end", "step-zero", "no-hash", "unknown-guide"],
)
def test_stuck_map_problems(tmp_path: Path, stuck: dict[int, list[str]], message: str) -> None:
    found = problems(write_guide(tmp_path, front_matter(stuck=stuck)))
    assert [p for p in found if "stuck" in p] == [f"sample-guide.md: {message}"]


def test_stuck_guide_ids_are_only_checked_against_given_ids(tmp_path: Path) -> None:
    path = write_guide(tmp_path, front_matter(stuck={2: ["no-such-guide#Lỗi"]}))
    assert problems(path, known_ids=None) == []


# --- parsing details -----------------------------------------------------------------------------------------


def test_parse_steps_joins_continuation_lines() -> None:
    text = "1. Mở ứng dụng.\n   Chờ tải xong.\n2) Chọn mục.\n\nGhi chú không thuộc bước.\n3. Gửi."
    assert parse_steps(text) == ["Mở ứng dụng. Chờ tải xong.", "Chọn mục.", "Gửi."]


def test_problems_are_sub_sections_of_errors(tmp_path: Path) -> None:
    path = write_guide(tmp_path)
    guide = parse_guide(path)
    errors = guide.section("Lỗi thường gặp")
    assert errors is not None and "### Không nhận được OTP" in errors.body
    (problem,) = guide.problems
    assert problem.parent == "Lỗi thường gặp"
    assert problem.body == "Chờ một lúc rồi bấm Gửi lại."
    assert problem.key == "sample-guide#khong-nhan-duoc-otp"


def test_source_url_prefers_an_official_source(tmp_path: Path) -> None:
    meta = front_matter(
        sources=[{"name": "Báo", "url": "https://vnexpress.net/a"}, {"name": "Cổng", "url": "https://vneid.gov.vn/b"}]
    )
    assert parse_guide(write_guide(tmp_path, meta)).source_url == "https://vneid.gov.vn/b"


def test_each_part_cites_the_page_that_holds_it(tmp_path: Path) -> None:
    meta = front_matter(sources=[
        {"name": "Báo", "url": "https://bao.vn/phi", "parts": ["Phí và thời gian", "Lỗi thường gặp"]},
        {"name": "Cổng", "url": "https://dichvucong.gov.vn/p/a", "parts": ["Các bước"]},
        # official but http only: after every https page naming the same part
        {"name": "Xã", "url": "http://xa.gov.vn/phi", "parts": ["Phí và thời gian", "Cần chuẩn bị"]},
        {"name": "Sở", "url": "https://so.gov.vn/phi", "parts": ["Phí và thời gian"]},
        {"name": "Báo 2", "url": "https://bao2.vn/a", "parts": ["Cần chuẩn bị", "Không nhận được OTP"]},
        {"name": "Báo 3", "url": "https://bao3.vn/otp", "parts": ["Không nhận được OTP", "Cần chuẩn bị"]},
    ])
    guide = parse_guide(write_guide(tmp_path, meta))
    (problem,) = guide.problems
    assert guide.source_for(guide.section("Phí và thời gian")) == "https://so.gov.vn/phi"  # https, official first
    assert guide.source_for(guide.section("Các bước")) == "https://dichvucong.gov.vn/p/a"
    # the page about that part (naming it first) before one that also touches it
    assert guide.source_for(problem) == "https://bao3.vn/otp"
    assert guide.source_for(guide.section("Cần chuẩn bị")) == "https://bao2.vn/a"  # not the http official one
    # a part no source names and the summary: the guide's first official source
    assert guide.source_for(guide.section("Hỏi ở đâu")) == guide.source_for(None) == "https://dichvucong.gov.vn/p/a"
    fees = replies.answer_message(guide, guide.section("Phí và thời gian"))
    assert fees["custom"]["source_url"] == "https://so.gov.vn/phi"
    assert fees["text"].endswith("Nguồn: https://so.gov.vn/phi (cập nhật 01/11/2025)")


def test_a_problem_no_source_names_cites_its_part(tmp_path: Path) -> None:
    meta = front_matter(sources=[
        {"name": "Cổng", "url": "https://dichvucong.gov.vn/p/a", "parts": ["Các bước"]},
        {"name": "Báo", "url": "https://bao.vn/loi", "parts": ["Lỗi thường gặp"]},
    ])
    guide = parse_guide(write_guide(tmp_path, meta))
    assert guide.source_for(guide.problems[0]) == "https://bao.vn/loi"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"url": "https://vnexpress.net", "parts": ["Các bước"]}, "is a site's home page (https://vnexpress.net)"),
        ({"url": "https://plo.vn/", "parts": ["Các bước"]}, "is a site's home page (https://plo.vn/)"),
        ({"url": "https://plo.vn/?p=6765"}, "names no part of the guide (parts: [...])"),  # a query is a page
        ({"url": "https://plo.vn/bai-viet.html", "parts": ["Lệ phí"]}, "names a part the guide does not have: 'Lệ phí'"),
    ],
    ids=["home-page", "home-page-slash", "no-parts", "unknown-part"],
)
def test_a_source_must_be_a_page_that_backs_named_parts(tmp_path: Path, source: dict[str, Any],
                                                        message: str) -> None:
    sources = [*front_matter()["sources"], {"name": "Báo", **source}]
    found = problems(write_guide(tmp_path, front_matter(sources=sources)))
    assert found == [f"sample-guide.md: source 'Báo' {message}" + ("" if "home page" not in message
                                                                      else ", not the page that holds the fact")]


@pytest.mark.parametrize(
    ("title", "short"),
    [
        ("Thẻ căn cước (làm mới, đổi, cấp lại)", "Thẻ căn cước"),
        ("Lỗi thanh toán: bị trừ tiền", "Lỗi thanh toán"),
        ("Chữ ký số – cá nhân", "Chữ ký số"),
        ("Kích hoạt VNeID", "Kích hoạt VNeID"),
    ],
)
def test_short_title(tmp_path: Path, title: str, short: str) -> None:
    assert parse_guide(write_guide(tmp_path, front_matter(title=title))).short_title == short


