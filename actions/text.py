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
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def has_diacritics(text: str) -> bool:
    """True when the text carries Vietnamese tone or vowel marks (or đ)."""
    lowered = nfc(text).lower()
    return fold(lowered) != lowered


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
    return toks + [f"{a}_{b}" for a, b in zip(toks, toks[1:])]


# --- personal data -------------------------------------------------------------------------------------------

_SEP = r"[ .\-]?"
_CCCD = re.compile(r"(?<!\d)\d(?:" + _SEP + r"\d){11}(?!\d)")
_PHONE = re.compile(r"(?<![\d+])(?:\+?84|0)(?:" + _SEP + r"\d){9}(?!\d)")
_CMND = re.compile(r"(?<!\d)\d{9}(?!\d)")
_OTP = re.compile(r"(?<![\d.,])\d{6}(?![\d.,]|\s?(?:đ|d|vn|k|ng|tr)\w*)", re.IGNORECASE)
_OTP_NEAR = re.compile(r"(?<!\d)\d{4,8}(?!\d)")
_OTP_WORDS = re.compile(r"\b(otp|ma xac (thuc|nhan)|ma kich hoat|passcode|mat khau)\b")


def mask_pii(text: str) -> str:
    """Replace CCCD/CMND numbers, phone numbers and OTP-like codes with placeholders before logging or storing."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    text = _CCCD.sub("[CCCD]", text)
    text = _PHONE.sub("[SĐT]", text)
    text = _CMND.sub("[CMND]", text)
    text = _OTP.sub("[MÃ]", text)
    if _OTP_WORDS.search(fold(text)):
        # a shorter or longer code written next to "OTP"/"mã"/"passcode" is a secret too
        text = _OTP_NEAR.sub("[MÃ]", text)
    return text


def contains_pii(text: str) -> bool:
    """True when masking would change the text."""
    return mask_pii(text) != text


def shares_secret(text: str) -> bool:
    """True when a resident seems to be sending an OTP or passcode: the bot should warn them."""
    if re.fullmatch(r"\s*\d{4,8}\s*", text):
        return True
    return bool(_OTP_WORDS.search(fold(text))) and bool(_OTP_NEAR.search(text) or _OTP.search(text))


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
