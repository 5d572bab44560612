"""From the portal's own fields to a typed record: the parsing behind `tools/import_procedures.py`.

Two kinds of source hold the national catalogue (CSDL quốc gia về TTHC on dichvucong.gov.vn):
- crawled JSON, one file per procedure, whose table cells arrive run together
  ("Trực tuyến20 Ngày làm việcMiễn phí…");
- the portal's own "ChiTietTTHC" Word exports, whose tables keep their cells.
Both are turned into the same `RawFields` (strings and already-split table rows), then into a `Procedure`.
"""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

from common.text import names_district_office
from procedures.records import CHANNELS, Document, Fee, Procedure, Way, validate

NO_INFO = "Không có thông tin"
PORTAL_DETAIL = "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc="

_CHANNEL = "|".join(CHANNELS)
_TIME_UNITS = ("Ngày làm việc", "Ngày", "Giờ làm việc", "Giờ", "Tháng", "Năm", "Phút", "Tuần")
_TIME = re.compile(r"(\d+(?:[.,]\d+)?)\s*(" + "|".join(_TIME_UNITS) + r")?", re.IGNORECASE)
_AMOUNT = re.compile(r"(\d{1,3}(?:[.,]\d{3})+|\d+)\s*(?:Việt Nam Đồng|VNĐ|VND|Đồng|đồng|đ)\b")
_COUNT = re.compile(r"(\d+) bản (chính|sao)(?:,\s*(\d+) bản (chính|sao))?")
_DOCX_COUNT = re.compile(r"Bản chính:\s*(\d*)\s*Bản sao:\s*(\d*)")
_FILE_EXT = r"\.(?i:docx?|pdf|xlsx?|rar|zip)"
_DOC_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
_WAY_HEADER = re.compile(r"^Hình thức nộpThời(?: gian| hạn giải quyết)Phí, lệ phíMô tả")
_LEGAL_KINDS = ("Bộ luật", "Luật", "Pháp lệnh", "Nghị quyết", "Nghị định", "Quyết định", "Thông tư liên tịch",
                "Thông tư", "Văn bản hợp nhất", "Chỉ thị", "Công văn")
# 66.7/2025/NQ-CP, 08.a/2010/TT-BTP, 09/2023/QĐ-TTg, 01/2014/NQLT-CP-UBTƯMTTQVN
_LEGAL_CODE = r"(?:\d{1,3}\.(?:\d+|[a-z])|\d+[a-z]?)/(?:\d{4}/)?[A-ZĐ][A-ZĐƯ0-9&\-]*?(?:TTg|[A-ZĐƯ0-9])"
_VOWELS = "aăâeêioôơuưyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
_UPPER_VOWELS = "AĂÂEÊIOÔƠUƯYÁÀẢÃẠẮẰẲẴẶẤẦẨẪẬÉÈẺẼẸẾỀỂỄỆÍÌỈĨỊÓÒỎÕỌỐỒỔỖỘỚỜỞỠỢÚÙỦŨỤỨỪỬỮỰÝỲỶỸỴ"
_LOWER = f"a-zđ{_VOWELS}"
_UPPER = f"A-ZĐ{_UPPER_VOWELS}"
# A capital that starts a Vietnamese word: "Mẫu", "Nghị", "Ủy" (but not the "Ib" of "Phụ lục VIb").
_CONSONANT_START = rf"(?:[B-DF-HJ-NP-TV-XZĐ](?=[{_VOWELS}])|Ch|Gh|Gi|Kh|Ng|Nh|Ph|Th|Tr|Qu)"
_WORD_START = (rf"(?:{_CONSONANT_START}"
               rf"|[{_UPPER_VOWELS}](?=[{_LOWER}])(?=[{_VOWELS}]*(?:ng|nh|ch|[cmnpt])?(?![{_LOWER}])))")
_SYLLABLE = re.compile(rf"(?:ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|[bcdđghklmnprstvx])?[{_VOWELS}]{{1,3}}(?:ng|nh|ch|[cmnpt])?")
# The run-together legal table is title, code, title, code…: a code cell ends where the next title starts (a capital
# that begins a Vietnamese word, a lower-case letter, a title in capitals, a space and a capitalised word or a number,
# or a title that is itself a number glued to its code cell) or the text ends. A number quoted inside a title is followed by a
# space and a lower-case word ("… số 85/2019/TT-BTC ngày …") or by a digit (the row's own code glued to it).
_TITLE_START = rf"{_WORD_START}|[{_LOWER}]"
_CAPS_TITLE = (r"THÔNG TƯ|NGHỊ ĐỊNH|NGHỊ QUYẾT|QUYẾT ĐỊNH|BỘ LUẬT|LUẬT|PHÁP LỆNH|BAN HÀNH|QUY ĐỊNH|HƯỚNG DẪN|SỬA ĐỔI|VỀ "
               r"|BỘ |CHÍNH PHỦ|QUỐC HỘI|ỦY BAN|UỶ BAN")  # titles in capitals: "…/QĐ-BHXHBỘ NỘI VỤ…"
_LEGAL_CELL = re.compile(
    rf"(?<![\d/])({_LEGAL_CODE})(?!(?<=TT)g|(?<=-C)P)"  # not "…QĐ-TT|g…", not "…NĐ-C|Phông tư" (lost T)
    rf"(?=$|\n|{_TITLE_START}|{_CAPS_TITLE}|[ \t]+(?:{_WORD_START}|{_CAPS_TITLE}|\d)|({_LEGAL_CODE}) \2)")
_LEGAL_TWICE = re.compile(rf"({_LEGAL_CODE})(?!(?<=TT)g)\1")  # "Luật 60/2014/QH13" glued to its code cell
_KIND_BY_CODE = (("TTLT", "Thông tư liên tịch"), ("VBHN", "Văn bản hợp nhất"), ("NĐ-", "Nghị định"), ("TT-", "Thông tư"),
                 ("NQ-", "Nghị quyết"), ("QĐ-", "Quyết định"), ("CT-", "Chỉ thị"), ("/QH", "Luật"))
_PROVINCIAL = re.compile(r"hội đồng nhân dân|hđnd", re.IGNORECASE)
_NOT_CHARGED = re.compile(r"^\(?\s*(không có|không quy định|không thu|miễn|0 đồng|không)\s*[.)]*\s*$", re.IGNORECASE)
_CODE_IN_TEXT = re.compile(r"Mã thủ tục\s*:?\s*(\d\.\d{6})(?!\d)")  # a code cut short ("2.0") is no code
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\ufeff]")  # zero-width and direction marks
_BLOCKS = ("Trình tự thực hiện", "Cách thức thực hiện", "Thành phần hồ sơ", "Đối tượng thực hiện")
# The ministry from a decision's issuer suffix (the export's folder names are not reliable).
MINISTRY_BY_SUFFIX = {
    "BCA": "Bộ Công an", "BTP": "Bộ Tư pháp", "BTC": "Bộ Tài chính", "BYT": "Bộ Y tế", "BXD": "Bộ Xây dựng",
    "BGDĐT": "Bộ Giáo dục và Đào tạo", "BGD&ĐT": "Bộ Giáo dục và Đào tạo", "BVHTTDL": "Bộ Văn hóa, Thể thao và Du lịch",
    "BNV": "Bộ Nội vụ", "BCT": "Bộ Công Thương", "BKHCN": "Bộ Khoa học và Công nghệ",
    "BNNMT": "Bộ Nông nghiệp và Môi trường", "BDTTG": "Bộ Dân tộc và Tôn giáo", "NHNN": "Ngân hàng Nhà nước",
    "BQP": "Bộ Quốc phòng", "BNG": "Bộ Ngoại giao", "TANDTC": "Tòa án nhân dân tối cao", "UBDT": "Bộ Dân tộc và Tôn giáo",
    "BNN": "Bộ Nông nghiệp và Môi trường", "BTNMT": "Bộ Nông nghiệp và Môi trường", "C06": "Bộ Công an",
    "NHCS": "Ngân hàng Chính sách xã hội", "LĐTBXH": "Bộ Lao động - Thương binh và Xã hội (cũ)",
    "BLĐTBXH": "Bộ Lao động - Thương binh và Xã hội (cũ)",
}


class SourceError(ValueError):
    """A source file that cannot become a record; the message is the rejection reason."""


def clean(text: Any) -> str:
    """NFC text with runs of spaces collapsed (line breaks kept); "Không có thông tin" becomes ""."""
    value = unicodedata.normalize("NFC", str(text or "")).replace("\xa0", " ").replace("\r", "")
    value = _INVISIBLE.sub("", value)
    value = "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in value.split("\n"))
    value = re.sub(r"\n{2,}", "\n", value).strip()
    return "" if value.strip(" .-") in ("", NO_INFO) else value


def one_line(text: Any) -> str:
    """`clean`, then on one line."""
    return re.sub(r"\s*\n\s*", " ", clean(text))


@dataclass
class RawFields:
    """What one source file says, before interpretation: text fields, and table rows where the source keeps them."""

    code: str
    name: str
    levels: str
    field: str
    who: str
    agency: str
    where: str
    steps: str
    conditions: str
    result: str
    decision: str
    ministry: str
    detail_url: str
    data_date: str
    source: str
    ways_text: str = ""  # run-together table (JSON)
    way_rows: list[list[str]] = dc_field(default_factory=list)  # channel, time, fee, note (docx)
    documents_text: str = ""  # run-together table (JSON)
    document_rows: list[tuple[str, list[str]]] = dc_field(default_factory=list)  # (group, [name, form, count]) (docx)
    legal_text: str = ""  # run-together (JSON)
    legal_rows: list[list[str]] = dc_field(default_factory=list)  # number, title, date, issuer (docx)


# ---- fields ---------------------------------------------------------------------------------------------------------


def parse_levels(text: str) -> tuple[str, ...]:
    """"Cấp bộ, Cấp tỉnh, Cấp xã, Cơ quan khác" → ("bộ", "tỉnh", "xã", "khác")."""
    low = text.lower()
    found = [level for level, word in (("xã", "cấp xã"), ("tỉnh", "cấp tỉnh"), ("bộ", "cấp bộ"), ("khác", "cơ quan khác"))
             if word in low]
    return tuple(found)


def parse_time(raw: str, note: str = "") -> tuple[str, bool]:
    """The processing time as residents read it, and whether the source forgot the unit."""
    raw = one_line(raw)
    match = _TIME.fullmatch(raw)
    if not raw:
        return "", False
    if not match:
        return raw, False
    number, unit = match.group(1), match.group(2)
    if unit:
        return f"{number} {unit.lower()}", False
    # A bare number: the note often says it in full ("07 ngày làm việc, kể từ…").
    spelled = re.search(r"\b0*" + re.escape(number.lstrip("0") or "0") + r"\s*(?:\([^)]*\)\s*)?(ngày làm việc|ngày|giờ|tháng)",
                        note.lower())  # "07 ngày làm việc", "10 (mười) ngày làm việc"
    if spelled:
        return f"{number} {spelled.group(1)}", False
    return number, True


def _amount(number: str) -> str:
    digits = re.sub(r"[.,]", "", number)
    return f"{int(digits):,}".replace(",", ".") + " đồng"


def parse_fee(raw: str) -> Fee:
    """A fee cell → its kind and the words residents read; never "Miễn phí" unless the source says so."""
    text = one_line(raw)
    if not text or text.startswith(NO_INFO):
        return Fee("unknown", "")
    if _PROVINCIAL.search(text):
        return Fee("provincial", "Theo mức HĐND tỉnh quy định")
    # The Word export writes "Phí : <amount> Đồng (<explanation>)", leaving "Phí :  Đồng" when there is no amount.
    text = re.sub(r"((?:Lệ phí|Phí)\s*:)\s*Đồng\b\s*", r"\1 ", text).strip()
    body = re.sub(r"^(?:Lệ phí|Phí)\s*:\s*", "", text)
    if not body.strip("() "):
        return Fee("unknown", "")
    if re.match(r"^(?:Miễn phí|Không thu (?:phí|lệ phí)\s*$|(?:0|Không)\s*Đồng\b)", body, re.IGNORECASE):
        rest = re.sub(r"^(Miễn phí|Không thu (?:phí|lệ phí)|(?:0|Không)\s*Đồng)", "", body, flags=re.IGNORECASE).strip()
        if not rest or _NOT_CHARGED.match(rest) or re.match(r"^\(*\s*Không thu", rest, re.IGNORECASE):
            return Fee("free", "Miễn phí")
        return Fee("see_text", _unbracket(rest))
    amounts = [_amount(m.group(1)) for m in _AMOUNT.finditer(text) if re.sub(r"[.,]", "", m.group(1)).strip("0")]
    if amounts:
        extra = _unbracket(re.sub(r"^[^(]*", "", text))
        shown = ", ".join(dict.fromkeys(amounts))
        return Fee("amount", f"{shown} ({extra})" if extra and len(extra) < 160 else shown)
    if not re.search(r"(?:Lệ phí|Phí)\s*:", body):  # one label: its explanation is the fee
        return Fee("see_text", _unbracket(re.sub(r"(?<=\D)\s+Đồng$", "", body)))
    return Fee("see_text", text)


def _unbracket(text: str) -> str:
    """Text without the brackets that enclose all of it ("((không thu…))" → "không thu…")."""
    text = text.strip()
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    """Every bracket in the text is closed, none before it opens."""
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _split_fee_and_note(rest: str) -> tuple[str, str]:
    """After the time: the fee cell (with its bracketed explanation) and the free-text note that follows."""
    patterns = (r"Không có thông tin", r"Miễn phí", r"(?:Lệ phí|Phí)\s*:\s*[^()]*?(?:Đồng|đồng)",
                r"(?:\d{1,3}(?:[.,]\d{3})+|\d+)\s*(?:Việt Nam Đồng|VNĐ|VND|Đồng|đồng)")
    head = re.match("(?:" + "|".join(patterns) + ")", rest)
    if not head:
        return "", rest
    end = head.end()
    while True:  # further amounts ("50.000 Đồng + 20.000 Đồng") and bracketed explanations belong to the fee
        more = re.match(r"\s*(?:[,+;]|và)?\s*(?:\d{1,3}(?:[.,]\d{3})+|\d+)\s*(?:Việt Nam Đồng|VNĐ|Đồng|đồng)", rest[end:])
        if more:
            end += more.end()
            continue
        if rest[end:end + 1] == "(":
            depth = 0
            for i in range(end, len(rest)):
                depth += {"(": 1, ")": -1}.get(rest[i], 0)
                if depth == 0:
                    end = i + 1
                    break
            else:
                end = len(rest)
            continue
        break
    return rest[:end], rest[end:]


def split_ways_text(text: str) -> list[list[str]]:
    """A run-together "Cách thức thực hiện" table → rows of (channel, time, fee, note)."""
    body = _WAY_HEADER.sub("", clean(text).replace("\n", " "))
    starts = [m.start() for m in re.finditer(rf"(?:{_CHANNEL})(?=\s*(?:\d|{NO_INFO}))", body)]
    rows: list[list[str]] = []
    for start, end in zip(starts, [*starts[1:], len(body)][: len(starts)], strict=True):
        chunk = body[start:end]
        channel = next(c for c in CHANNELS if chunk.startswith(c))
        rest = chunk[len(channel):].lstrip()
        glued = re.match(r"(\d+)[\d.,]*\s*(?:Việt Nam Đồng|VNĐ|VND|Đồng|đồng)", rest)
        if rest.startswith(NO_INFO):
            time_raw, rest = "", rest[len(NO_INFO):]
        elif glued:  # a time without unit run into the fee: "1100 VNĐ" is "1" and "100 VNĐ"
            amount = re.match(r"[\d.,]+", rest)
            digits = amount.group(0) if amount else ""
            cut = next((i for i in range(1, len(glued.group(1)))
                        if re.fullmatch(r"[1-9]\d{0,2}(?:[.,]\d{3})+|[1-9]\d*", digits[i:])), 0)
            time_raw, rest = rest[:cut], rest[cut:]
        else:
            match = _TIME.match(rest)
            assert match is not None  # the lookahead saw a digit
            time_raw, rest = match.group(0), rest[match.end():]
        fee_raw, note = _split_fee_and_note(rest)
        rows.append([channel, time_raw, fee_raw, note.strip(" -*")])
    return rows


def ways_of(rows: list[list[str]]) -> tuple[Way, ...]:
    """Rows of (channel, time, fee, note) → ways of filing; a channel the source lists twice is kept once."""
    ways: dict[str, Way] = {}
    for channel, time_raw, fee_raw, note in rows:
        channel = one_line(channel)
        if channel not in CHANNELS or channel in ways:
            continue
        note = one_line(note)
        time, unit_missing = parse_time(time_raw, note)
        fee = parse_fee(fee_raw)
        if fee.kind != "provincial" and _PROVINCIAL.search(note) and re.search(r"lệ phí|phí", note, re.IGNORECASE):
            fee = Fee("provincial", "Theo mức HĐND tỉnh quy định")
        ways[channel] = Way(channel, time, unit_missing, fee, note[:600])
    return tuple(ways.values())


def _counts(text: str) -> tuple[int | None, int | None]:
    originals = copies = None
    match = _COUNT.fullmatch(text.strip())
    if match:
        for number, kind in ((match.group(1), match.group(2)), (match.group(3), match.group(4))):
            if number is not None:
                if kind == "chính":
                    originals = int(number)
                else:
                    copies = int(number)
    docx = _DOCX_COUNT.search(text)
    if docx:
        originals = int(docx.group(1)) if docx.group(1) else None
        copies = int(docx.group(2)) if docx.group(2) else None
    return originals, copies


def _name_and_form(cell: str) -> tuple[str, str]:
    """Split a document cell into its name and the template file the portal glued to it ("…theo mẫuMau 01.docx")."""
    if not re.search(_FILE_EXT + "$", cell):
        return cell.strip(" ;"), ""
    strong, weak = _form_starts(cell)
    for start in [*strong, *weak]:
        name, form = cell[:start], cell[start:]
        if re.search(rf"[{_LOWER}{_UPPER}]", name) and _looks_like_file(form):
            form = re.sub(rf"({_FILE_EXT})(?=[{_UPPER}\d])", r"\1; ", form)  # two files glued
            return name.strip(" ;"), form.strip()
    return cell.strip(" ;"), ""


def _form_starts(cell: str) -> tuple[list[int], list[int]]:
    """Where a glued file name may start, earliest first: clear boundaries, then doubtful ones ("…I.9 Nghị…")."""
    strong = {m.end() for m in re.finditer(r"[;)\]”\"](?=\w)", cell)}  # "…theo mẫu;TK 1.001023.docx"
    strong |= {m.start() for m in re.finditer(r"(?<=[;.)])(?=\d+\.+[^\d\s])", cell)}  # "…TT-BCA).1.MuCT01.doc"
    strong |= {m.end() for m in re.finditer(rf"\.(?={_WORD_START})|(?<=[{_LOWER}\d)])\.(?=[{_LOWER}{_UPPER}])", cell)}
    strong |= {m.start() for m in re.finditer(rf"(?<=[{_LOWER}])(?=[{_UPPER}])", cell)}  # "…theo mẫuMau 01"
    strong |= {m.start() for m in re.finditer(rf"(?<=[{_UPPER}\d])(?={_CONSONANT_START})", cell)}  # "…NĐ-CPMau13"
    for word in re.finditer(rf"[{_LOWER}]{{4,}}", cell):  # "…quy địnhvăn bản đề nghị.docx" (not "Nghidinh")
        text = word.group()
        if re.search(rf"[đ{_VOWELS[12:]}]", text) and not _SYLLABLE.fullmatch(text):
            strong |= {word.start() + j for j in range(1, len(text))
                       if _SYLLABLE.fullmatch(text[:j]) and _SYLLABLE.fullmatch(text[j:])}
    weak = {m.end() for m in re.finditer(r"\.(?=\d)", cell)}  # "(mẫu 9B).47-Mẫu 8A….doc"
    weak |= {m.start() for m in re.finditer(rf"(?<=[^\d{_LOWER}][{_LOWER}]|[{_LOWER}]{{2}})(?=\d)", cell)}
    return sorted(strong), sorted(weak - strong)


def _looks_like_file(text: str) -> bool:
    """A glued tail that can be a template's file name: starts with a letter or digit, short, no sentence break."""
    return (bool(re.fullmatch(rf"\w.*{_FILE_EXT}", text)) and len(text) <= 150
            and not re.search(r"[.:]\s|;", text))


def split_documents_text(text: str) -> list[tuple[str, list[str]]]:
    """A run-together "Thành phần hồ sơ" → (group, [name, form, count]) rows."""
    body = clean(text).replace("\n", " ")
    out: list[tuple[str, list[str]]] = []
    parts = body.split(_DOC_HEADER)
    group = ""
    for i, part in enumerate(parts):
        if i == 0:
            group = part.strip(" -+:*")
            continue
        # Rows end with their count; what follows the last count is the next table's group title.
        pos = 0
        for match in _COUNT.finditer(part):
            if re.match(rf"\s+[{_LOWER}]|\.", part[match.end():]):  # "01 bản sao có chứng thực…", "…cấp: 01 bản chính."
                continue
            glued = len(match.group(1)) - 1 if len(match.group(1)) >= 3 else 0  # "theo Mẫu số 13" + "1 bản chính"
            cell = part[pos: match.start() + glued].strip(" -+*")
            if cell:
                out.append((_group_title(group), [cell, match.group(0)[glued:]]))
            pos = match.end()
        group = part[pos:].strip(" -+:*")
    return out


def _group_title(text: str) -> str:
    text = text.strip(" -+:*")
    if text in ("", "--", "Bao gồm") or text.lower().startswith(("số lượng hồ sơ", "số bộ hồ sơ")) or len(text) > 700:
        return ""  # no case: "Bao gồm" (includes), "Số lượng hồ sơ: …" (how many copies)
    return text


def documents_of(rows: list[tuple[str, list[str]]]) -> tuple[Document, ...]:
    """Rows → documents; the JSON rows hold [name+form, count], the docx rows [name, form, count]."""
    docs = []
    for group, cells in rows:
        if len(cells) >= 3:
            name, count = one_line(cells[0]), cells[2]
            form = "; ".join(line for line in clean(cells[1]).split("\n") if line)  # a cell may hold several files
        else:
            (name, form), count = _name_and_form(one_line(cells[0])), cells[1]
        name = name.strip(" -+*;")
        if not name or name.lower().startswith(("số lượng hồ sơ", "số bộ hồ sơ")) or re.fullmatch(
                r"(?:không quy định|không có|không)\.?", name, re.IGNORECASE):  # "Không quy định.": no paper at all
            continue
        originals, copies = _counts(count)
        docs.append(Document(name, originals, copies, form[:200], _group_title(one_line(group))))
    return tuple(docs)


def legal_basis_of(text: str, rows: list[list[str]]) -> tuple[str, ...]:
    """"Thông tư 03/2024/TT-BTP"-style references, in source order, without repeats."""
    found: dict[str, str] = {}  # number → reference
    if rows:
        for row in rows:
            number = one_line(row[0]) if row else ""
            title = one_line(row[1]) if len(row) > 1 else ""
            kind = next((k for k in _LEGAL_KINDS if title.startswith(k) or number.startswith(k)), "")
            number = re.sub(r"^(?:" + "|".join(_LEGAL_KINDS) + r")\s*(?:số\s*)?", "", number).strip()
            code = re.search(_LEGAL_CODE + r"(?![\wĐƯ&\-])", number)
            number = code.group(0) if code else number  # "TT 10/2025/TT-BGDĐT" → "10/2025/TT-BGDĐT"
            if number:
                found.setdefault(number, f"{kind or _kind_of_code(number)} {number}".strip())
    else:
        body = clean(text).replace("\n", " ")
        body = re.sub(r"^Tên văn bản pháp lýMã văn bản", "", body)
        body = _LEGAL_TWICE.sub(r"\1 \1\n", body)  # the second one is the code cell: a row ends after it
        # A year that ends a title runs into the code cell: "Luật Cư trú 2020" + "68/2020/QH14", "ngày 29/6/2024" + "43/…"
        body = re.sub(r"(?<!\d)((?:19|20)\d\d)(?=\d{1,4}(?:\.\d+)?/(?:\d{4}/)?[A-ZĐ])", r"\1 ", body)
        start = 0
        for match in _LEGAL_CELL.finditer(body):
            title, number, start = body[start: match.start()].strip(), match.group(1), match.end()
            kind = next((k for k in _LEGAL_KINDS if title.startswith(k)), "") or _kind_of_code(number)
            found.setdefault(number, f"{kind} {number}".strip())
    return tuple(found.values())


def _kind_of_code(number: str) -> str:
    """The kind of document a number's issuer suffix implies ("…/NĐ-CP" → Nghị định), or ""."""
    return next((kind for mark, kind in _KIND_BY_CODE if mark in number), "")


def steps_of(text: str) -> tuple[str, ...]:
    """The "Trình tự thực hiện" text → its lines (bullets kept as written, empty lines dropped)."""
    lines = [line.strip() for line in clean(text).split("\n")]
    return tuple(line for line in lines if len(line.strip(" -+*.")) > 1)


def ministry_of(decision: str, fallback: str = "") -> str:
    """The ministry from a decision number's issuer ("5568/QĐ-BCA" → Bộ Công an)."""
    parts = re.split(r"[-_]", decision)
    suffix = parts[-1].strip().upper() if len(parts) > 1 else ""
    return MINISTRY_BY_SUFFIX.get(suffix, fallback)


def to_record(raw: RawFields) -> Procedure:
    """Interpret one source's fields; raises SourceError with the reason when it cannot be shown to a resident."""
    code = raw.code.strip().rstrip(".")
    if not re.fullmatch(r"\d+\.\d+", code):
        raise SourceError("no procedure code")
    name = one_line(raw.name)
    if not name:
        raise SourceError("no name")
    levels = parse_levels(raw.levels)
    if not levels:
        raise SourceError("no level")
    ways = ways_of(raw.way_rows or split_ways_text(raw.ways_text))
    if not ways:
        raise SourceError("no way of filing")
    documents = documents_of(raw.document_rows or split_documents_text(raw.documents_text))
    steps = steps_of(raw.steps)
    online_text = f"{name} {raw.steps}".lower()
    online_level = ("toàn trình" if "toàn trình" in online_text
                    else "một phần" if "trực tuyến một phần" in online_text else "")
    where = clean(raw.where)
    agency = one_line(raw.agency)
    flags = []
    if any(names_district_office(t) for t in (where, agency, clean(raw.conditions), *steps, *(d.name for d in documents))):
        flags.append("names_district")
    if any(w.time_unit_missing for w in ways):
        flags.append("time_without_unit")
    record = Procedure(
        code=code, name=name, levels=levels, field=one_line(raw.field), ministry=raw.ministry,
        who=tuple(w.strip() for w in re.split(r",\s*(?![^()]*\))", one_line(raw.who)) if w.strip()),
        agency=agency, where=where, steps=steps, ways=ways, documents=documents,
        conditions=clean(raw.conditions), result=_result(raw.result), legal_basis=legal_basis_of(raw.legal_text, raw.legal_rows),
        online_level=online_level, source_url=raw.detail_url or PORTAL_DETAIL + code, data_date=raw.data_date,
        source=raw.source, decision=one_line(raw.decision), flags=tuple(flags),
    )
    try:
        validate(record)
    except ValueError as exc:
        raise SourceError(f"invalid record ({exc})") from exc
    return record


def _result(text: str) -> str:
    """The result cell without the portal's page furniture that the crawl glued to it."""
    value = one_line(text)
    value = re.split(r"Mã: KQ\.|Từ khóa|Chọn cơ quan thực hiện", value)[0]
    return value.strip(" .,")


# ---- readers --------------------------------------------------------------------------------------------------------


def read_json(data: dict[str, Any], ministry: str, data_date: str, source: str) -> RawFields:
    """One crawled JSON record. The code printed on the page wins over the file's when they differ."""
    code = str(data.get("ma_thu_tuc") or "")
    printed = _CODE_IN_TEXT.search(str(data.get("raw_text") or ""))
    # The page the crawler saved names its own code; the other fields were read off that page.
    code = printed.group(1) if printed else code
    return RawFields(
        code=code, name=data.get("ten_thu_tuc", ""), levels=data.get("cap_thuc_hien", ""),
        field=data.get("linh_vuc", ""), who=data.get("doi_tuong_thuc_hien", ""),
        agency=clean(data.get("co_quan_thuc_hien")) or clean(data.get("co_quan_co_tham_quyen")),  # past "Không có thông tin"
        where=data.get("dia_chi_tiep_nhan", ""), steps=data.get("trinh_tu_thuc_hien", ""),
        conditions=data.get("yeu_cau_dieu_kien", ""), result=data.get("ket_qua_xu_ly", ""),
        decision=data.get("so_quyet_dinh", ""), ministry=ministry_of(str(data.get("so_quyet_dinh") or ""), ministry),
        detail_url=str(data.get("detail_url") or ""), data_date=data_date, source=source,
        ways_text=data.get("cach_thuc_thuc_hien", ""), documents_text=data.get("thanh_phan_ho_so", ""),
        legal_text=data.get("can_cu_phap_ly", ""),
    )


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_LABELS = {
    "Mã thủ tục": "code", "Số quyết định": "decision", "Tên thủ tục": "name", "Cấp thực hiện": "levels",
    "Lĩnh vực": "field", "Trình tự thực hiện": "steps", "Cách thức thực hiện": "ways", "Thành phần hồ sơ": "documents",
    "Đối tượng thực hiện": "who", "Cơ quan thực hiện": "agency", "Địa chỉ tiếp nhận HS": "where",
    "Kết quả thực hiện": "result", "Căn cứ pháp lý": "legal", "Yêu cầu, điều kiện thực hiện": "conditions",
}


def _cell_text(element: ET.Element) -> str:
    paragraphs = []
    for p in element.iter(_W + "p"):
        paragraphs.append("".join(t.text or "" for t in p.iter(_W + "t")))
    return "\n".join(paragraphs)


def read_docx(path: Path, data_date: str, source: str) -> RawFields:
    """One portal "ChiTietTTHC" Word export: labelled paragraphs, and tables after their label."""
    try:
        xml = zipfile.ZipFile(path).read("word/document.xml")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise SourceError("not a readable Word file") from exc
    body = ET.fromstring(xml).find(_W + "body")
    if body is None:
        raise SourceError("not a readable Word file")
    fields: dict[str, str] = {}
    tables: dict[str, list[list[str]]] = {}
    groups: list[str] = []
    document_rows: list[tuple[str, list[str]]] = []
    current = ""
    detail_url = ""
    for element in body:
        if element.tag == _W + "p":
            text = _cell_text(element)
            link = re.search(r"https://\S+", text)
            if link and "chi tiết thủ tục" in text.lower():
                detail_url, current = link.group(0).rstrip("."), ""
                continue
            label, sep, value = text.partition(":")
            key = _LABELS.get(label.strip())
            if sep and key:
                current = key
                fields[key] = value.strip()
            elif current and text.strip():
                if current == "documents":
                    groups.append(text.strip())
                else:
                    fields[current] = (fields.get(current, "") + "\n" + text).strip()
        elif element.tag == _W + "tbl":
            rows = [[_cell_text(tc) for tc in tr.findall(_W + "tc")] for tr in element.iter(_W + "tr")]
            rows = rows[1:]  # the header row
            if current == "documents":
                group = groups[-1] if groups and groups[-1] != "Bao gồm" else ""
                document_rows.extend((group, row) for row in rows if len(row) >= 3)
            else:
                tables.setdefault(current, []).extend(rows)
    if not fields.get("code"):
        raise SourceError("no procedure code")
    return RawFields(
        code=fields.get("code", ""), name=fields.get("name", ""), levels=fields.get("levels", ""),
        field=fields.get("field", ""), who=fields.get("who", ""), agency=fields.get("agency", ""),
        where=fields.get("where", ""), steps=fields.get("steps", ""), conditions=fields.get("conditions", ""),
        result=fields.get("result", ""), decision=fields.get("decision", ""),
        ministry=ministry_of(fields.get("decision", "")), detail_url=detail_url, data_date=data_date, source=source,
        way_rows=[r for r in tables.get("ways", []) if len(r) >= 3], document_rows=document_rows,
        legal_rows=tables.get("legal", []),
    )
