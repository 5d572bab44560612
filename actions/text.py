"""Vietnamese text helpers: normalisation for matching, and masking of personal data.

Pure Python, no third-party imports: the Rasa process (Python 3.10) imports this module through the NLU
normaliser component, the action server (Python 3.11) through retrieval.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Abbreviations and chat spellings residents use, on diacritic-folded lowercase tokens. Values are folded too.
ABBREVIATIONS: dict[str, str] = {
    # negation / common chat words
    "ko": "khong", "k": "khong", "kg": "khong", "hok": "khong", "hong": "khong", "kh": "khong", "khg": "khong",
    "hem": "khong", "chx": "chua", "dc": "duoc", "dk": "dang ky", "j": "gi", "ji": "gi", "z": "vay",
    "v": "vay", "r": "roi", "ntn": "nhu the nao", "bn": "bao nhieu", "bnh": "bao nhieu",
    "vs": "voi", "mik": "minh", "mk": "mat khau", "pass": "mat khau", "pw": "mat khau", "tk": "tai khoan",
    "acc": "tai khoan", "hs": "ho so", "nt": "nhan tin", "tn": "tin nhan", "sms": "tin nhan", "dt": "dien thoai",
    "đt": "dien thoai", "dthoai": "dien thoai", "sdt": "so dien thoai", "sđt": "so dien thoai",
    "ck": "chong", "vk": "vo", "ad": "admin", "ok": "ok", "oke": "ok", "okie": "ok", "uh": "u", "uk": "u",
    "ng": "nguoi", "lm": "lam", "ns": "noi", "bik": "biet", "bit": "biet", "bjo": "bay gio",
    "bh": "bao gio", "trc": "truoc", "cx": "cung", "cg": "cung", "thik": "thich", "wa": "qua",
    "gium": "giup", "dum": "giup", "hdan": "huong dan", "hd": "huong dan",
    # public-service words
    "cccd": "can cuoc cong dan", "cmnd": "chung minh nhan dan", "cmt": "chung minh nhan dan",
    "dvc": "dich vu cong", "dvcqg": "dich vu cong quoc gia", "lltp": "ly lich tu phap", "bhyt": "bao hiem y te",
    "bhxh": "bao hiem xa hoi", "ubnd": "uy ban nhan dan", "gplx": "giay phep lai xe", "blx": "bang lai xe",
    "dkkh": "dang ky ket hon", "tthn": "tinh trang hon nhan", "ks": "khai sinh",
    "vneid": "vneid", "vnid": "vneid", "vneld": "vneid", "vn-eid": "vneid", "dinhdanh": "dinh danh",
    "kichhoat": "kich hoat", "chukyso": "chu ky so", "cks": "chu ky so", "tthc": "thu tuc hanh chinh",
    "csdl": "co so du lieu", "nfc": "nfc", "qr": "qr", "otp": "otp", "hk": "ho khau",
}

_TOKEN = re.compile(r"[0-9a-z]+")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")


def nfc(text: str) -> str:
    """NFC-normalise, drop zero-width characters and collapse whitespace."""
    text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFC", text))
    return " ".join(text.split())


def fold(text: str) -> str:
    """Lowercase and strip Vietnamese diacritics (đ→d): 'Đăng ký' → 'dang ky'."""
    text = nfc(text).lower().replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    # only the combining diacritical marks: emoji variation selectors (also "Mn") are not accents
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not "\u0300" <= ch <= "\u036f"))


def has_diacritics(text: str) -> bool:
    """True when the text carries Vietnamese tone or vowel marks (or đ)."""
    lowered = nfc(text).lower()
    return "đ" in lowered or any("\u0300" <= ch <= "\u036f" for ch in unicodedata.normalize("NFD", lowered))


def tokens(text: str) -> list[str]:
    """Folded syllables with abbreviations expanded: 'ko nhận đc OTP' → ['khong', 'nhan', 'duoc', 'otp']."""
    out: list[str] = []
    for tok in _TOKEN.findall(fold(text)):
        expansion = ABBREVIATIONS.get(tok)
        out.extend(expansion.split() if expansion else [tok])
    return out


def normalise(text: str) -> str:
    """The matching form of a message: folded syllables, abbreviations expanded, joined by spaces."""
    return " ".join(tokens(text))


def with_bigrams(toks: list[str]) -> list[str]:
    """Syllables plus adjacent syllable pairs ('kich_hoat'), since Vietnamese words span syllables."""
    return toks + [f"{a}_{b}" for a, b in zip(toks, toks[1:], strict=False)]


# --- personal data -------------------------------------------------------------------------------------------

_SEP = r"[ .\-]?"
# Digit runs glued to letters, dots or dashes belong to codes (dossier "H09-240228-0005", dates), not to people.
_START = r"(?<![\w.\-+])"
_END = r"(?![\w]|[.\-]\d)"
_MONEY = r"(?!\s?(?:đồng|dong\b|đ\b|d\b|₫|vnđ|vnd|k\b|nghìn|nghin|ngàn|ngan|triệu|trieu|tr\b|usd|\$))"
_CCCD = re.compile(_START + r"\d(?:" + _SEP + r"\d){11}" + _END)
_PHONE = re.compile(r"(?<![\w.\-])(?:\+?84|0)(?:" + _SEP + r"\d){9}" + _END)
_CMND = re.compile(_START + r"\d{9}" + _END + _MONEY, re.IGNORECASE)
_OTP = re.compile(_START + r"\d{6}" + _END + _MONEY, re.IGNORECASE)
_OTP_NEAR = re.compile(_START + r"\d{3,4}(?:\s?\d{2,4})?" + _END + _MONEY, re.IGNORECASE)
_OTP_WORDS = re.compile(r"\b(otp|ma xac (thuc|nhan)|ma kich hoat|passcode|mat khau)\b")
_BARE_CODE = re.compile(r"\s*\d(?:[ .]?\d){3,7}\s*")
# How far from "OTP"/"passcode" a shorter code still counts as that code (characters after / before the word).
_NEAR_AFTER, _NEAR_BEFORE = 30, 12
_HOTLINE = re.compile(r"1[89]00")


def mask_pii(text: str) -> str:
    """Replace CCCD/CMND numbers, phone numbers and OTP-like codes with placeholders before logging or storing."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    if _BARE_CODE.fullmatch(text):
        return "[MÃ]"
    text = _CCCD.sub("[CCCD]", text)
    text = _PHONE.sub("[SĐT]", text)
    text = _CMND.sub("[CMND]", text)
    text = _OTP.sub("[MÃ]", text)
    return _mask_near_otp_words(text)


def _near_otp_word(text: str) -> list[re.Match[str]]:
    """Short codes written just after (or just before) an "OTP"/"passcode" word; hotlines excluded."""
    folded = fold(text)
    if len(folded) != len(text):  # positions only line up on NFC text
        return []
    words = [(m.start(), m.end()) for m in _OTP_WORDS.finditer(folded)]
    return [
        m for m in _OTP_NEAR.finditer(text)
        if not _HOTLINE.match(m.group())
        and any(end <= m.start() <= end + _NEAR_AFTER or start - _NEAR_BEFORE <= m.end() <= start
                for start, end in words)
    ]


def _mask_near_otp_words(text: str) -> str:
    """A shorter code, or one written with a space, right next to "OTP"/"passcode" is a secret too."""
    for match in reversed(_near_otp_word(text)):
        text = text[: match.start()] + "[MÃ]" + text[match.end():]
    return text


def shares_secret(text: str) -> bool:
    """True when a resident seems to be sending an OTP or passcode: the bot should warn them."""
    if _BARE_CODE.fullmatch(text):
        return True
    return bool(_near_otp_word(nfc(text)))


def contains_pii(text: str) -> bool:
    """True when masking would change the text."""
    return mask_pii(text) != text


# Messages longer than this are not a question we can answer well; the resident is asked to shorten them.
MAX_MESSAGE_CHARS = 1500
_TAG = re.compile(r"<[^>]{0,200}>")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def strip_tags(text: str) -> str:
    """Remove HTML-looking tags (residents paste them; they carry no question)."""
    return _TAG.sub(" ", text)


def input_problem(text: object) -> str | None:
    """Why a message cannot be read ('empty', 'no_text', 'too_long', 'non_text'), or None when it is fine."""
    if not isinstance(text, str):
        return "non_text"
    cleaned = nfc(strip_tags(text)).replace("[MÃ]", "").replace("[SĐT]", "").replace("[CCCD]", "")
    if not cleaned.strip():
        return "empty"
    if len(text) > MAX_MESSAGE_CHARS:
        return "too_long"
    if not _LETTER.search(cleaned):
        return "no_text"
    return None


def truncate(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters, at a word boundary where possible."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def unique(items: Iterable[str]) -> list[str]:
    """Items in first-seen order without repeats."""
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)
