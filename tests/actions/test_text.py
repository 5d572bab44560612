"""Vietnamese normalisation and personal-data masking (actions/text.py)."""

from __future__ import annotations

import re
import unicodedata

import pytest

from actions.text import (
    ABBREVIATIONS,
    MAX_MESSAGE_CHARS,
    contains_pii,
    fold,
    has_diacritics,
    input_problem,
    mask_pii,
    nfc,
    normalise,
    shares_secret,
    strip_tags,
    tokens,
    truncate,
    unique,
    with_bigrams,
)

# --- normalisation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Đăng ký", "dang ky"),
        ("ĐĂNG KÝ THƯỜNG TRÚ", "dang ky thuong tru"),
        ("đ Đ", "d d"),
        ("Căn cước công dân", "can cuoc cong dan"),
        ("Lý lịch tư pháp", "ly lich tu phap"),
        ("Quẹt, quét, quát, quất", "quet, quet, quat, quat"),
        ("  nhiều    khoảng\ttrắng \n ", "nhieu khoang trang"),
        ("kich hoat vneid", "kich hoat vneid"),  # already folded: unchanged
        ("", ""),
    ],
)
def test_fold_strips_diacritics_and_lowercases(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_treats_decomposed_input_like_composed() -> None:
    decomposed = unicodedata.normalize("NFD", "Đăng ký khai sinh")
    assert decomposed != "Đăng ký khai sinh"
    assert fold(decomposed) == "dang ky khai sinh"


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        # the same question typed with and without diacritics meets in one form
        ("Kích hoạt VNeID thế nào?", "kich hoat vneid the nao"),
        ("kich hoat vneid the nao", "kich hoat vneid the nao"),
        ("Không nhận được OTP", "khong nhan duoc otp"),
        ("ko nhan dc otp", "khong nhan duoc otp"),
        ("Ko nhận đc OTP", "khong nhan duoc otp"),
        # abbreviations residents type
        ("ko", "khong"),
        ("k", "khong"),
        ("dc", "duoc"),
        ("đc", "duoc"),
        ("j", "gi"),
        ("sdt", "so dien thoai"),
        ("sđt", "so dien thoai"),
        ("cccd", "can cuoc cong dan"),
        ("CCCD", "can cuoc cong dan"),
        ("mk", "mat khau"),
        ("tk", "tai khoan"),
        ("hs", "ho so"),
        ("lltp", "ly lich tu phap"),
        ("bhyt", "bao hiem y te"),
        ("dk", "dang ky"),
        ("đk", "dang ky"),
        ("quên mk tk vneid", "quen mat khau tai khoan vneid"),
        ("nộp hs lltp ở đâu", "nop ho so ly lich tu phap o dau"),
        ("dk tam tru cho con dc j", "dang ky tam tru cho con duoc gi"),
        # punctuation and emoji are not syllables
        ("VNeID?!... 🙏", "vneid"),
        ("CT07, CT01", "ct07 ct01"),
    ],
)
def test_normalise(text: str, normalised: str) -> None:
    assert normalise(text) == normalised


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kích\u200bhoạt", "kich hoat"),  # zero-width space inside a word; 'kichhoat' is then expanded
        ("\ufeffđăng ký", "dang ky"),  # byte-order mark at the start
        ("vne\u200did", "vneid"),  # zero-width joiner
        ("xin\u2060chào", "xinchao"),  # word joiner
    ],
)
def test_zero_width_characters_are_dropped(text: str, expected: str) -> None:
    assert normalise(text) == expected
    assert not re.search(r"[\u200b-\u200f\u2060-\u2064\ufeff]", nfc(text))


@pytest.mark.parametrize("text", ["", "   ", "\u200b", "😀", "🙏🙏🙏", "👍 😂", "❤️", "?!...", "\n\t"])
def test_empty_and_emoji_only_input_has_no_tokens(text: str) -> None:
    assert tokens(text) == []
    assert normalise(text) == ""


@pytest.mark.parametrize("text", ["", "   ", "😀", "🙏🙏🙏", "👍 😂", "?!..."])
def test_empty_and_emoji_only_input_has_no_diacritics(text: str) -> None:
    assert has_diacritics(text) is False


@pytest.mark.parametrize("text", ["❤️", "kich hoat vneid ☺️", "ok \u2764\ufe0f\ufe0e"])
def test_emoji_variation_selector_is_not_a_diacritic(text: str) -> None:
    # U+FE0F/U+FE0E are category Mn like accents; unaccented text with ❤️ must keep the unaccented dense weight
    assert has_diacritics(text) is False


@pytest.mark.parametrize(("text", "folded"), [("❤️", "❤️"), ("Cảm ơn ☺️", "cam on ☺️")])
def test_fold_keeps_emoji_variation_selectors(text: str, folded: str) -> None:
    assert fold(text) == folded
    assert has_diacritics("Cảm ơn ☺️") is True


@pytest.mark.parametrize(
    ("text", "accented"),
    [
        ("Đăng ký", True),
        ("đc", True),  # đ alone counts
        ("Đ", True),
        ("xin chào 😀", True),
        ("kích hoạt", True),
        ("kich hoat", False),
        ("VNeID CCCD", False),
        ("ko dc j", False),
        ("0912345678", False),
        ("", False),
        ("😀", False),
    ],
)
def test_has_diacritics(text: str, accented: bool) -> None:
    assert has_diacritics(text) is accented


def test_abbreviation_expansions_are_folded() -> None:
    # expansions feed the matcher, which only ever sees folded text
    for short, long in ABBREVIATIONS.items():
        assert fold(long) == long, short


def test_with_bigrams_adds_adjacent_pairs() -> None:
    assert with_bigrams(["kich", "hoat", "vneid"]) == ["kich", "hoat", "vneid", "kich_hoat", "hoat_vneid"]
    assert with_bigrams(["mot"]) == ["mot"]
    assert with_bigrams([]) == []


# --- personal data -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # 12-digit CCCD, plain and with separators
        ("CCCD của tôi là 001203012345", "CCCD của tôi là [CCCD]"),
        ("số định danh 001.203.012.345 nhé", "số định danh [CCCD] nhé"),
        ("số 001 203 012 345", "số [CCCD]"),
        ("001-203-012-345", "[CCCD]"),
        ("cccd:079088001234.", "cccd:[CCCD]."),
        # 9-digit CMND
        ("cmnd cũ 123456789", "cmnd cũ [CMND]"),
        ("CMND 025123456 hết hạn", "CMND [CMND] hết hạn"),
        # phone numbers
        ("sdt 0912345678", "sdt [SĐT]"),
        ("gọi 0912 345 678 giúp", "gọi [SĐT] giúp"),
        ("0912.345.678", "[SĐT]"),
        ("sđt: 090 123 4567", "sđt: [SĐT]"),
        ("+84912345678", "[SĐT]"),
        ("+84 912 345 678", "[SĐT]"),
        ("84912345678", "[SĐT]"),
        # 6-digit OTP, alone or in a sentence
        ("123456", "[MÃ]"),
        ("mã 123456 nhé", "mã [MÃ] nhé"),
        ("OTP: 482913", "OTP: [MÃ]"),
        # shorter/longer codes next to OTP words
        ("OTP 1234", "OTP [MÃ]"),
        ("mã xác thực là 98765432", "mã xác thực là [MÃ]"),
        ("Mã xác thực: 4821", "Mã xác thực: [MÃ]"),
        ("ma xac thuc 4821", "ma xac thuc [MÃ]"),
        ("mã xác nhận 12345", "mã xác nhận [MÃ]"),
        ("passcode 654321", "passcode [MÃ]"),
        ("Passcode: 2468", "Passcode: [MÃ]"),
        ("mật khẩu 20252025", "mật khẩu [MÃ]"),
        ("Mã OTP là 123 456", "Mã OTP là [MÃ]"),  # written with a space
        # a message that is only a 4-8 digit code
        ("4821", "[MÃ]"),
        ("12345678", "[MÃ]"),
        (" 482913 \n", "[MÃ]"),
        # a 6-digit code followed by a word, not a unit
        ("123456 đây", "[MÃ] đây"),
        ("mã 123456 đó bạn", "mã [MÃ] đó bạn"),
        ("123456 dạ", "[MÃ] dạ"),
        ("OTP 123456.", "OTP [MÃ]."),
        # several kinds in one message
        (
            "Tôi 0912345678, cccd 001203012345, otp 123456",
            "Tôi [SĐT], cccd [CCCD], otp [MÃ]",
        ),
    ],
)
def test_mask_pii(text: str, masked: str) -> None:
    assert mask_pii(text) == masked
    assert contains_pii(text)


@pytest.mark.parametrize(
    "text",
    [
        "lệ phí 140000 đồng",
        "phí 150.000đ",
        "hết 150000 đ",
        "nộp 200000 vnd",
        "200000 VNĐ",
        "cọc 150000k",
        "2.000.000 đồng",
        "1.500.000đ",
        "lương 15tr",
        "phí 150000₫",
        "phí 150000 ₫",
        "150000 Đồng",
        "phí 150 nghìn",
        "300 ngàn",
        "vay 2 triệu",
        "nộp 50k",
        "vay 200000000 đồng",  # 9 digits: an amount, not a CMND
        "vay 200000000 vnd",
        "ngân hàng trừ 140000 đồng mà chưa nhận OTP",  # an OTP word does not make the amount a code
        "đã trừ 150.000đ mà chưa có OTP",
        "ngày 12/03/2025",
        "ngày 12-03-2025",
        "ngày 12.03.2025",
        "năm 2025 có phải đổi thẻ không",
        "tôi sinh năm 1990, 65 tuổi",
        "tổng đài 1900 0368",
        "gọi 18001096",
        "mã thủ tục 1.011537",
        "CT07",
        "không có số nào",
        "",
    ],
)
def test_mask_pii_keeps_money_dates_and_hotlines(text: str) -> None:
    assert mask_pii(text) == text
    assert not contains_pii(text)


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("000.00.13.H09-240228-0005", id="commune-code"),
        pytest.param("H29.22-250707-0003", id="province-code"),
        pytest.param("G22.105-240101-000123", id="ministry-code"),
        pytest.param("H09-240228-000512", id="twelve-digits-across-dashes"),
        pytest.param("240228-0005", id="date-and-sequence"),
    ],
)
def test_mask_pii_keeps_dossier_codes(code: str) -> None:
    text = f"Mã hồ sơ của tôi là {code}, tra giúp với"
    assert mask_pii(text) == text
    assert not shares_secret(text)


def test_mask_pii_keeps_letters_of_a_dossier_code() -> None:
    masked = mask_pii("Mã hồ sơ của tôi là 000.00.13.H09-240228-0005, tra giúp với")
    assert masked.startswith("Mã hồ sơ của tôi là ")
    assert masked.endswith(", tra giúp với")


def test_mask_pii_still_masks_numbers_next_to_a_dossier_code() -> None:
    text = "Hồ sơ H29.22-250707-0003, sđt 0912345678, cccd 001203012345"
    assert mask_pii(text) == "Hồ sơ H29.22-250707-0003, sđt [SĐT], cccd [CCCD]"


@pytest.mark.parametrize(
    "text",
    [
        "123456",
        "OTP 1234",
        "passcode: 246810",
        "4821",
        "12345678",
        "Mã OTP là 123 456",
        "123456 đây",
        "mã 123456 đó bạn",
        "123456 dạ",
    ],
)
def test_codes_a_resident_sends_are_masked(text: str) -> None:
    assert not re.search(r"\d", mask_pii(text))


@pytest.mark.parametrize("text", ["123 456", "1234 5678"])
def test_bare_code_written_with_a_space_is_masked(text: str) -> None:
    assert mask_pii(text) == "[MÃ]"
    assert shares_secret(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("năm 2025 tôi không nhận được OTP", id="year"),
        pytest.param("gọi tổng đài 1900 0368 vì không nhận được OTP", id="hotline"),
    ],
)
def test_numbers_far_from_an_otp_word_are_not_secrets(text: str) -> None:
    assert not shares_secret(text)
    assert mask_pii(text) == text


def test_mask_pii_without_digits_returns_the_same_object() -> None:
    text = "Tôi quên mật khẩu VNeID"
    assert mask_pii(text) is text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("123456", True),
        (" 4821 ", True),
        ("12345678", True),
        ("OTP 123456", True),
        ("mã OTP của tôi là 4821", True),
        ("Mã xác thực: 98765432", True),
        ("Mã OTP là 123 456", True),
        ("4821\n", True),
        ("ma xac nhan 12345", True),
        ("passcode 246810", True),
        ("mật khẩu vneid là 20252025", True),
        ("123", False),
        ("123456789", False),  # a CMND number, not a code
        ("tôi quên mật khẩu", False),
        ("otp không về", False),
        ("không nhận được mã OTP", False),
        ("năm 2025 có phải đổi thẻ", False),
        ("lệ phí 140000 đồng", False),
        ("ngân hàng trừ 140000 đồng mà chưa nhận OTP", False),
        ("mã hồ sơ 000.00.13.H09-240228-0005 chưa có OTP", False),
        ("gọi 0912345678", False),
        ("", False),
    ],
)
def test_shares_secret(text: str, secret: bool) -> None:
    assert shares_secret(text) is secret


# --- unreadable input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("kích hoạt vneid", None),
        ("ok", None),
        ("<b>xin</b> chào", None),
        ("[MÃ] là mã của tôi", None),
        ("", "empty"),
        ("  \n\t ", "empty"),
        ("\u200b", "empty"),
        ("<p></p>", "empty"),
        ("[MÃ]", "empty"),  # what is left of a bare code after masking
        ("[SĐT] [CCCD]", "empty"),
        ("😀", "no_text"),
        ("🙏🙏🙏", "no_text"),
        ("?!...", "no_text"),
        ("12345", "no_text"),
        ("❤️ [MÃ]", "no_text"),
        (None, "non_text"),
        (123, "non_text"),
        ({"type": "image"}, "non_text"),
        (["a"], "non_text"),
    ],
)
def test_input_problem(text: object, problem: str | None) -> None:
    assert input_problem(text) == problem


def test_input_problem_too_long() -> None:
    assert MAX_MESSAGE_CHARS == 1500
    assert input_problem("a" * MAX_MESSAGE_CHARS) is None
    assert input_problem("a" * (MAX_MESSAGE_CHARS + 1)) == "too_long"
    assert input_problem("😀" * (MAX_MESSAGE_CHARS + 1)) == "too_long"
    assert input_problem(" " * (MAX_MESSAGE_CHARS + 1)) == "empty"  # nothing to shorten


@pytest.mark.parametrize(
    ("text", "stripped"),
    [
        ("<b>xin</b> chào", " xin  chào"),
        ("<a href='https://vneid.gov.vn'>link</a>", " link "),
        ("a < b", "a < b"),
        ("không có thẻ", "không có thẻ"),
        ("", ""),
    ],
)
def test_strip_tags(text: str, stripped: str) -> None:
    assert strip_tags(text) == stripped


# --- small helpers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("ngắn", 10, "ngắn"),
        ("đúng mười!", 10, "đúng mười!"),
        ("một hai ba bốn năm", 10, "một hai…"),
        ("abcdefghijk", 5, "abcd…"),  # no space: cut mid-word
        ("", 3, ""),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected


@pytest.mark.parametrize("limit", [5, 17, 40, 120])
def test_truncate_never_exceeds_limit(limit: int) -> None:
    text = "Bạn kích hoạt tài khoản định danh điện tử trên ứng dụng VNeID " * 4
    out = truncate(text, limit)
    assert len(out) <= limit
    assert out.endswith("…")


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["b", "a", "b", "c", "a"], ["b", "a", "c"]),
        ([], []),
        (["x"], ["x"]),
        (iter(["dvc-login", "dvc-login"]), ["dvc-login"]),
    ],
)
def test_unique_keeps_first_seen_order(items, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert unique(items) == expected
