"""Vietnamese text helpers: normalisation for matching, and masking of personal data.

Pure Python, no third-party imports: the Rasa process (Python 3.10) imports this module through the NLU
normaliser component, the action server (Python 3.11) through retrieval.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata

# Abbreviations and chat spellings residents use, on diacritic-folded lowercase tokens. Values are folded too.
ABBREVIATIONS: dict[str, str] = {
    # negation / common chat words
    "ko": "khong", "k": "khong", "kg": "khong", "hok": "khong", "kh": "khong", "khg": "khong",
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

# Southern and colloquial words residents write for the words the guides use ("tui" → "tôi", "coi" → "xem", "mấy
# bữa" → "mấy hôm"), on folded tokens: only words whose folded form means nothing else here. Without them the
# classifier learns "tui" as a sign of feedback, because its feedback examples were written in that voice.
DIALECT: dict[str, str] = {
    "tui": "toi", "coi": "xem", "xai": "dung", "sanh": "sinh", "bua": "hom", "dzay": "vay", "zay": "vay",
    "dzo": "vao", "zo": "vao",
}
# The same for words that only keep their meaning with their diacritics: folded, "vô" would be "vợ", "má" "mã",
# "mần" "màn", "dìa" "địa", "kiếm" "kiểm". Applied to the lowercased text before folding.
DIALECT_ACCENTED: dict[str, str] = {
    "vô": "vào", "má": "mẹ", "mần": "làm", "dìa": "về", "kiếm": "tìm", "chừng nào": "khi nào", "chừng mấy": "khoảng mấy",
    "hổm rày": "mấy hôm nay", "bển": "bên đó", "hổng": "không", "hông": "không",
    # Central: "răng rứa" (sao vậy), "ở mô" (ở đâu), "cái nớ" (cái đó), "mạ tui" (mẹ tôi)
    "răng": "sao", "mô": "đâu", "rứa": "vậy", "nớ": "đó", "mạ": "mẹ",
}
# "hong" is not among them: written "hỏng" it means broken ("máy cũ hỏng"), "hông" and "hổng" are mapped above, and
# without diacritics it stays "hong", which can be either.
_DIALECT_ACCENTED = re.compile(r"(?<!\w)(" + "|".join(sorted(map(re.escape, DIALECT_ACCENTED), key=len, reverse=True))
                               + r")(?!\w)")

_TOKEN = re.compile(r"[0-9a-z]+")
# Invisible characters that split or glue words without showing: zero-width space/joiners, LRM/RLM, word joiner,
# invisible operators, byte-order mark, soft hyphen, Mongolian vowel separator. (Dropping ZWJ splits emoji sequences
# like 👨‍👩‍👧 into their parts, which is fine.)
_ZERO_WIDTH_CHARS = "\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff"
# Bidi embeddings, overrides and isolates (and the Arabic letter mark) can make a message read differently from
# what it holds: a volunteer must see the characters in order.
_BIDI_CHARS = "\u061c\u202a-\u202e\u2066-\u2069"

# A str can hold a UTF-16 pair as two code points (JSON "\\ud83d\\ude00" decoded leniently): rejoin it, keep the emoji.
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
# CR, CRLF, NEL and the Unicode line/paragraph separators are line breaks a resident typed: keep them as "\n".
_LINE_BREAK = re.compile("\r\n?|[\x85\u2028\u2029]")
# Terminal colour codes ("\x1b[31m") pasted from a console: dropping only ESC would leave "[31m" behind.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
# Non-characters are never valid in interchange: U+FDD0..U+FDEF and the last two code points of every plane.
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    chr(plane | 0xFFFE) + chr(plane | 0xFFFF) for plane in range(0, 0x110000, 0x10000)
)
# Lone surrogates make .encode() raise; C0/C1 controls (but \t and \n) only ever come from machines or bad copies.
_UNWANTED = re.compile(f"[\ud800-\udfff\x00-\x08\x0b-\x1f\x7f-\x9f{_ZERO_WIDTH_CHARS}{_BIDI_CHARS}{_NONCHARACTERS}]")


def clean(text: str) -> str:
    """Make incoming text safe: drop surrogates, controls, bidi and zero-width characters, NFC; keep line breaks."""
    text = _SURROGATE_PAIR.sub(_join_surrogates, text)
    text = _LINE_BREAK.sub("\n", text)
    text = _ANSI_ESCAPE.sub("", text)
    return unicodedata.normalize("NFC", _UNWANTED.sub("", text))


def _join_surrogates(match: re.Match[str]) -> str:
    """The astral character a high/low surrogate pair encodes."""
    high, low = (ord(ch) for ch in match.group())
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def nfc(text: str) -> str:
    """Clean the text (see clean()) and collapse all whitespace, line breaks included, to single spaces."""
    return " ".join(clean(text).split())


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
    lowered = _DIALECT_ACCENTED.sub(lambda m: DIALECT_ACCENTED[m.group(0)], nfc(text).lower())
    out: list[str] = []
    for tok in _TOKEN.findall(fold(lowered)):
        expansion = ABBREVIATIONS.get(tok) or DIALECT.get(tok)
        out.extend(expansion.split() if expansion else [tok])
    return out


def normalise(text: str) -> str:
    """The matching form of a message: folded syllables, abbreviations expanded, joined by spaces."""
    return " ".join(tokens(text))


# The parts every guide has, by the shape of a question that asks for one, on the normalised form (folded,
# abbreviations expanded) so they hold without diacritics too: "bao nhiêu tiền" → fees, "ở đâu" → where to ask.
# Section choice (actions/retrieval/sections.py) scores them; the NLU pipeline (rasa_addons.nlu.PartQuestionGuard)
# reads "có mất phí không" as a question about a part, not as "no".
PART_SHAPES: dict[str, re.Pattern[str]] = {
    "Phí và thời gian": re.compile(
        r"\b(bao nhieu tien|het bao nhieu|mat bao nhieu|ton bao nhieu|le phi|phi|mien phi|may tien|tien"
        r"|bao lau|may ngay|bao nhieu ngay|bao nhieu lau|mat may|thoi han|han chot|khi nao (moi )?(co|nhan|xong|duoc|lay)"
        r"|trong bao lau|dung duoc bao lau|co gia tri|may hom|bao nhieu hom|ngay nao (co|nhan|tra|xong)"
        r"|(dong|tra|het|mat) nhieu( khong| vay| the)?$|(dong|tra|het|mat) nhieu tien)\b"),
    "Hỏi ở đâu": re.compile(
        r"\b(hoi ai|o dau|cho nao|noi nao|co quan nao|lien he|tong dai|hotline|so dien thoai|goi so|goi den"
        r"|duong day nong|so may|so nao|goi ai|goi cho ai|bao (cho )?ai|gui (cho )?ai|nho ai)\b"),
    "Cần chuẩn bị": re.compile(
        r"\b(giay to gi|mang (theo )?(nhung )?gi|chuan bi (nhung )?gi|can (nhung )?gi|ho so gom|can giay|"
        r"nhung giay to|dieu kien|de san (nhung )?gi|san (nhung )?gi|chuan bi (the nao|sao|ra sao|nhu nao))\b"),
    "Các bước": re.compile(r"\b(cac buoc|tung buoc|lam the nao|lam sao de|cach (nao|lam|de)|thu tuc nhu the nao)\b"),
}


# Words that open a message and name nothing ("thế làm tạm trú cho con thì hết bao nhiêu", "vậy còn hộ chiếu
# thì sao"). Folded, "thế" is "the", the spelling of "thẻ" (a card) too, and the classifier read such a question as a
# service with no guide. Only with diacritics, where the two differ; never "thế nào", "vậy thôi", "thế à".
_OPENING = re.compile(r"^\s*(?:(?:thế còn|vậy còn|thế thì|vậy thì|thế|vậy|ủa|ờ)"
                      r"(?!\s*(?:nào|này|ạ|à|nhé|nhỉ|thôi|sao|hả|hở|đó|đấy|là xong)\b)[\s,.!…]+)+", re.IGNORECASE)


def without_opening_words(text: str) -> str:
    """The message without the words that open it and name nothing (`_OPENING`), when at least two words are left."""
    rest = _OPENING.sub("", text, count=1)
    return rest if len(rest.split()) >= 2 else text


# A question this short that has a part's shape ("phí bao nhiêu", "cần giấy tờ gì", "làm ở đâu") has no room to name a
# procedure: it asks about the one the conversation is on (actions.knowledge, rasa_addons.nlu.PartQuestionGuard).
SHORT_QUESTION_MAX_WORDS = 6


def part_shapes(text: str) -> set[str]:
    """The parts (`PART_SHAPES` headings) whose question shape the message has."""
    norm = normalise(text)
    return {heading for heading, pattern in PART_SHAPES.items() if pattern.search(norm)}


# What makes a message ask something, on the normalised form of each clause (so it holds without diacritics and with
# "ko", "j", "dc"): a question word anywhere, or a question particle closing the clause ("chỗ nào cũng đòi…" says
# everywhere, it does not ask where).
_QUESTION_WORDS = re.compile(
    r"\b((can|mang|lam|chuan bi|giay to|thu tuc|muc|nhung|chon|bam|dien|ghi|nop) (nhung )?gi(?! (cung|het|dau))"
    r"|(tai|vi|lam|thi) sao|sao (vay|the|nhi)|the nao|nhu nao|ra sao|lam sao|o dau|(cho|noi) nao(?! cung)|bao nhieu|bao lau|bao gio|khi nao|luc nao"
    r"|may gio|(?<!so )may (ngay|tien|so|thang|nam|buoc|lan|phut|tuan|ban|loai|cach)(?! (roi|nay|lien|truoc|qua)\b)"
    r"|duoc khong|co phai|phai khong|khong hay (la|phai)"
    r"|hay khong|hay la|co can(?! bo)|can (nhung )?gi|la gi|thu tuc gi|phai lam|nop (o|tai)|khac nhau|co cach"
    r"|(cho|xin) (toi |em |minh |tui |chau |con |bac |co |chu |anh |chi )?hoi|hoi (ai|giup|dum|gium)"
    r"|(chi|huong dan|giup|dum|gium) (toi|em|minh|tui|chau|con|voi|cach)|lam on)\b")
_CLOSING_PARTICLE = re.compile(r"\b((?<!trong )khong|hong|chua|nhi|ha|ho|sao|nao|(?<!gi )dau|gi)$")  # "có đổi gì đâu" denies
# "…không có tệp nào", "chẳng được ai nào": a closing "nào" that denies ("nói trống không" closes with "không" too)
_DENIES_ANY = re.compile(r"\b(khong|chang|chua) (co|duoc|thay) (\w+ ){0,3}nao$")
_CLAUSES = re.compile(r"[.!;\n]+|,\s+(?:con|va|nhung|ma)\s")
# the particles that close a question whatever the diacritics ("đâu" folds like "ban đầu", "hả" like "Hà"); a
# rhetorical "…thì có ích gì" closing a proposal is not among them
_CLOSING_NOT_GI = re.compile(r"\b(khong|chua|nhi|sao|nao)$")


def asks_something(text: str) -> bool:
    """Whether a message asks something: a question mark, a question word, or "…không" / "…chưa" closing a clause.

    "Đề nghị xã mở thêm giờ làm việc thứ Bảy." states; "thứ Bảy xã có làm việc không" and "mấy giờ xã mở cửa" ask.
    """
    if "?" in text:
        return True
    if proposes(text):  # "Đề nghị xã mở lớp…, về nhà các cụ vẫn không biết dùng vào việc gì." puts a proposal on record
        return False
    for clause in _CLAUSES.split(text):
        norm = normalise(clause)
        if norm and (_QUESTION_WORDS.search(norm) or (_CLOSING_PARTICLE.search(norm) and not _DENIES_ANY.search(norm))):
            return True
    return False


# A resident putting a proposal or complaint on record, in the first person or opening a sentence: "Tôi kiến nghị bỏ…",
# "Đề nghị xã mở…", "nhưng tôi vẫn muốn phản ánh: …". Not "cán bộ đề nghị tôi nộp thêm" (no first person, mid-clause).
_PROPOSAL = re.compile(
    r"(?:^|[.!;:,]\s*|\b(?:toi|em|chung toi|minh|tui|chau|con|bac|gia dinh toi|nguoi dan)\s+)"
    r"(?:(?:xin|muon|van muon|rat muon|cung muon|xin duoc|co)\s+)?(kien nghi|de nghi|phan anh|gop y)\b")
# …unless it asks how, where or whom to do it, or for guidance ("muốn phản ánh thì gửi ở đâu", "đề nghị hướng dẫn…")
_ASKS_THE_WAY = re.compile(
    r"\b(o dau|cho nao|noi nao|gui (o )?dau|nop (o )?dau|the nao|nhu nao|ra sao|lam sao|cach nao|hoi ai|ai (giai quyet|phu trach)"
    r"|bao gio|khi nao|bao lau|duoc khong|co duoc|huong dan|chi (toi|em|minh|cach)|giup (toi|em|minh)|cho (toi )?hoi"
    r"|cho (toi )?biet|giai dap|tu van)\b")


def proposes(text: str) -> bool:
    """Whether a message puts a proposal or complaint on record rather than asking for help.

    A rhetorical "…thì có ích gì." or "…có đổi gì đâu" inside it does not make it a question; a question mark or a
    request for the way ("thì gửi ở đâu", "đề nghị hướng dẫn giúp") does.
    """
    if "?" in text:
        return False
    # the normalised pieces between punctuation, joined by ". " so a piece's start is still seen as one
    folded = ". ".join(piece for piece in (normalise(p) for p in re.split(r"[.!;:,\n]+", text)) if piece)
    if not _PROPOSAL.search(folded) or _ASKS_THE_WAY.search(folded):
        return False
    # any other question ("…khác nhau sao", "…có mất phí không", "…gọi số nào") makes it one; a closing "gì" does not
    clauses = [normalise(clause) for clause in _CLAUSES.split(text)]
    return not any(_QUESTION_WORDS.search(c) or _CLOSING_NOT_GI.search(c) for c in clauses if c)


# A verdict on the service that asks nothing (issue 10: complaints and praise with no question were answered from the
# nearest guide or called off topic): "tệ quá", "chờ muốn mọc rễ luôn", "tiền không nhiều nhưng cộng lại thấy vô lý"
# ("vô" reads "vào" once normalised), "nói để mấy anh biết là chỗ này chưa ổn", "nhà em cảm ơn các anh chị lắm". A
# question ("…vô lý quá, giờ phải làm sao?") is not one: the guides answer it.
_VERDICT = re.compile(
    r"\b((vo|vao) ly(?! (lich|do|thuyet))|te qua|qua te|te that|chan qua|chan that|chan ghe|bat tien qua|kho chiu|phien ha|mat cong qua"
    r"|chua on|khong on chut nao|that vong|buc xuc|moc re|cho (muon|dai) co|cho gay co|hanh dan|lam kho dan"
    r"|noi de (may |cac )?(anh|chi|chu|co|ban|xa|phuong|ben) (chi |em )?biet|de nghi (xa |phuong )?ghi nhan"
    r"|cam on (cac|may|nhieu|ca)\b.{0,40}\b(lam|nhieu|that)|xin cam on (xa|phuong|cac)|co tac dung (that|thiet|ghe|lam)"
    r"|chu dao|tan tinh|nhanh gon (lam|qua|that)"
    r"|nen (mien|bo|giam|cho phep|co them|lam them|mo them)\b.{0,40}\b(cho|di|nua|luon))\b")


def gives_a_verdict(text: str) -> bool:
    """Whether a message judges the service (a complaint, praise, a wish) and asks nothing: feedback to record."""
    return not asks_something(text) and bool(_VERDICT.search(normalise(text)))


# A request for a person, not for an answer (issue 10: requests to meet someone, to be called back, for an official to
# come to the home or to sit with someone were filed as feedback): "cho tôi gặp cán bộ nào biết tiếng Chăm", "làm ơn
# nối máy cho trưởng bộ phận", "tôi cần một con người", "nhờ chuyên viên gọi cho chị trong hôm nay", "xin công an cử
# người xuống nhà lăn tay cho ông", "bố trí một người biết ngôn ngữ ký hiệu ngồi cùng cháu". Not a question about
# whether a service comes to the home ("công an có làm căn cước tại nhà cho người già không"): the guides answer that.
_PERSON = (r"(con nguoi|nguoi that|nguoi truc|nguoi that su|can bo|nhan vien|tong dai vien|tu van vien"
           r"|chuyen vien|tinh nguyen vien|truong (bo phan|phong|cong an)|lanh dao)")
_STAFF = r"(mot |1 )?" + _PERSON
_MEET_PERSON = re.compile(
    r"\b((?<!ket )noi may (cho|voi|toi|giup|gium)|(ket noi|chuyen may) (cho |voi |toi )?" + _STAFF
    + r"|(can|muon|xin|cho (toi|tui|em|minh|chau|con|chi|anh)) (duoc )?(gap|noi chuyen voi|noi chuyen truc tiep voi) "
    + _STAFF + r"|(toi|tui|em|minh|chau|con) can (mot |1 )" + _PERSON + r")\b")
_REQUEST = r"\b(xin|nho|lam on|vui long|mong|de nghi|de lai loi nhan|bo tri)\b"
# …for someone in particular ("…cho ông", "…giùm mệ"), not a proposal for all the elderly ("…cho các cụ")
_FOR_SOMEONE = (r"\b(cho|giup|gium|dum) (ong|ba|me|bo|cha|chong|vo|con|chau|em|toi|tui|anh|chi|mo|on|ba noi|ba ngoai"
                r"|ong noi|ong ngoai|nha toi|nha tui|gia dinh)\b")
_CALL_BACK = re.compile(_REQUEST + r".{0,80}\bgoi (lai |dien )?(lai )?(cho|ve cho) "
                        r"(toi|tui|em|chi|anh|minh|chau|con|bac|co|chu|ba|ong|me|bo)\b")
_COME_HOME = re.compile(_REQUEST + r".{0,80}\b(xuong|den|toi|len|ghe|qua|vo|vao|ve) (tan nha|tan noi|nha)\b.{0,80}"
                        + _FOR_SOMEONE)
_SIT_WITH = re.compile(_REQUEST + r".{0,60}\b(nguoi|can bo)\b.{0,50}"
                       r"\b(biet (tieng|ngon ngu)|ngon ngu ky hieu|ngoi cung|ngoi ben|doc giup|doc gium|di cung)")


def asks_for_a_person(text: str) -> bool:
    """Whether a message asks for a person: to meet or talk to one, a call back, a visit, someone to sit with them.

    A call back, a visit or a helper counts only when the message requests it ("xin…", "nhờ…", "làm ơn…") and asks
    nothing else; meeting a person counts whatever the shape ("cho tôi gặp cán bộ nào biết tiếng Chăm").
    """
    folded = normalise(text)
    if _MEET_PERSON.search(folded):
        return True
    if asks_something(text):
        return False
    if _CALL_BACK.search(folded) or _COME_HOME.search(folded):
        return True
    # "Đề nghị trung tâm có người biết ngôn ngữ ký hiệu" proposes a service for everyone: feedback
    return bool(_SIT_WITH.search(folded)) and not proposes(text)


# An official's private contact or home: "xin số Zalo riêng của ông trưởng công an xã", "địa chỉ nhà ông chủ tịch",
# "nhà riêng của cán bộ tư pháp". Never the resident's own ("đổi số điện thoại riêng của tôi") or a relative's home
# ("địa chỉ nhà của bà ngoại"): only a private contact followed by an official's title.
_PRIVATE_DETAILS = re.compile(
    r"\b(so (dien thoai |zalo |facebook |fb )?rieng|(zalo|facebook|fb|dien thoai) rieng|nha rieng|dia chi nha"
    r"|so ca nhan|dia chi ca nhan|bien so xe)( rieng)?( cua)? (ong |ba |anh |chi |co |chu |bac )?"
    r"(can bo|chu tich|pho chu tich|truong|pho truong|bi thu|cong an|giam doc|lanh dao|nhan vien|dai bieu)\b"
    # where an official lives, drives or goes after work, to meet them outside the office: "ông chủ tịch xã mới về ở
    # nhà nào, đi xe gì", "anh trưởng công an xã mấy giờ tan làm, về đường nào"; the number an official uses every
    # day; a title, then a private number ("phó chủ tịch phường… số điện thoại nhà riêng của cô ấy")
    r"|so (ong|ba) (ay |ta )?(xai|dung) hang ngay"
    r"|(chu tich|bi thu|truong cong an|truong (thon|ap|ban)|can bo|giam doc|pho chu tich)\b.{0,40}"
    r"\b(o nha nao|nha o dau|di xe gi|bien so (xe )?(may|bao nhieu|gi)|may gio (tan lam|ve|di lam)|ve duong nao"
    r"|di duong nao)"
    r"|(chu tich|bi thu|truong cong an|can bo|giam doc|lanh dao)\b.{0,80}\b(so (dien thoai|dt|di dong|zalo) (nha )?rieng"
    r"|dien thoai nha rieng)")


# Paying an official under the table: "phải bôi trơn mới nhanh", "bồi dưỡng cho cán bộ bao nhiêu", "có cần lót tay",
# "đưa phong bì cho ông trưởng". Not the fee ("lệ phí bao nhiêu"), thanks ("cảm ơn cán bộ") or a mailing envelope
# ("gửi hồ sơ có cần phong bì dán tem không").
_BRIBE = re.compile(
    r"\b(boi tron|lot tay|dut lot|tien lot|tien (ngoai|trao tay|bo duoi|uong nuoc|ca phe|che nuoc) (cho|de|moi|thi)"
    r"|(dua|nhet|dut|lam|chuan bi|bo) (cai |them )?phong bi"
    r"|phong bi (cho )?(can bo|cong an|ong|ba|anh|chi|chu|co|nguoi|ho)\b"
    r"|(boi duong|bieu|dua (them )?tien|cho (them )?tien|dua qua)( them)?( cho)? (can bo|cong an|nguoi (lam|truc|giai quyet)"
    r"|ong (truong|chu tich|pho)|ba (truong|chu tich|pho))"
    # "phải 'cảm ơn' trưởng thôn trước… mấy trăm là đủ", "đưa hai chục triệu 'quan hệ'… tiền mặt hay chuyển khoản"
    r"|cam on (truoc |rieng |them )?(cho )?(truong|can bo|cong an|ong|ba)\b.{0,25}\b(truoc|bao nhieu|may tram|may trieu)"
    r"|(quan he|lo lot) (truoc |rieng |them )?(cho )?(truong|can bo|cong an|ong|ba|xa|phuong)\b"
    r"(?! (me|thuong tru|tam tru|ho|con))"
    r"|(dua|gui|bieu|chuyen) (tien )?(mat|tien|phong bi).{0,30}(hay|hoac) chuyen khoan"
    r"|(muon|de) (duoc )?(co ten|vao danh sach|nhanh|xong som).{0,60}(phai|can) (dua|chi|bieu|lo|chay) (bao nhieu|may tram|may trieu|tien)"
    r"|dua (cho )?(anh|ong|chu|ba|chi|co) (ay|ta|ho) (mot|hai|ba|nam|muoi|\d+) (trieu|tram)|san sang (chi|dua|tra) them"
    r"|gui cho ai ben trong|dua sao cho kheo)")
# Someone else's account or data: reading a spouse's messages or transfers, or looking up another named person's
# card number or address. Not a relative's papers for a procedure ("số căn cước của mẹ tôi để khai tạm trú").
_SNOOPING = re.compile(
    r"\b(vao|vo|dang nhap|mo|xem|coi|doc) (tai khoan |app |ung dung )?(vneid|zalo|facebook|tai khoan|dien thoai)"
    r"( cua)? (vo|chong|nguoi yeu|ban gai|ban trai|bo nhi|hang xom|nguoi khac|nguoi ta)\b"
    r".{0,80}\b(tin nhan|nhan tin|chuyen tien|giao dich|lich su|dinh vi|vi tri|theo doi|noi chuyen)")
_LOOKUP_OTHERS = re.compile(
    r"\b(tra|tim|xem|coi|kiem|cho (toi|tui|em|minh) (xin|biet))( giup| gium| dum| ho| giup toi| gium tui)?"
    r" (so can cuoc( cong dan)?|so cccd|so cmnd|so chung minh( nhan dan)?|so dinh danh|dia chi nha|dia chi|que quan|so dien thoai|thong tin ca nhan)"
    r"(( va| voi|,) [a-z ]{2,30}?)? cua (co|chu|anh|chi|ong|ba|nguoi|thang|con|nhung nguoi) (?!(\w+ )?(toi|tui|minh|em|chau)\b)"
    # logging in with a spouse's or someone's password, buying another person's card photos or account
    r"|\b(mat khau|mk|pass)\b.{0,40}\bcua (vo|chong|co|cau|ong|ba|nguoi khac|nguoi ta|ban)\b.{0,80}\b(dang nhap|vao|vo|coi|xem)\b"
    r"|\b(mua|thue)( lai)? (anh |hinh |ban chup )?(can cuoc|cccd|cmnd|tai khoan( vneid| ngan hang)?)\b.{0,40}"
    r"\b(cua )?(ai do|nguoi khac|nguoi ta|ai)\b"
    # another person's criminal record or whereabouts: "xin lý lịch tư pháp của ông ấy giùm", "tra giùm ông hàng
    # xóm đang thường trú ở đâu, số điện thoại bao nhiêu"
    r"|\b(ly lich tu phap|tien an|tien su)\b.{0,20}\bcua (ong|ba|anh|chi|co|chu) (ay|ta|thong gia|hang xom)\b"
    r"|\b(tra|tim|kiem)\b.{0,30}\b(hang xom|nguoi nay|ong nay|ba nay)\b.{0,60}\b(o dau|so dien thoai|dia chi|thuong tru)")
# A political judgement or gossip about an official: "nhà nước làm vậy đúng hay sai", "bầu cử có thật sự dân chủ
# không", "ổng lấy tiền ở đâu ra".
_POLITICS = re.compile(
    r"\b(dung hay sai|sai hay dung|(co )?(that su |thuc su )?dan chu (khong|ko|hay)|tot hay do|tot hay xau"
    r"|(nghi|thay|danh gia) (sao|gi|the nao) ve (nha nuoc|chinh phu|dang|chinh sach|lanh dao|chu tich|chinh quyen)"
    r"|ai se thang|lay tien o dau ra|tien o dau ma (xay|mua)"
    # whom to vote for, which side the assistant takes, officials' private lives
    r"|phe nao|(doi|theo|che do|nhom) da dang|gach ten ai|(nen|se) bau (cho )?ai|cham diem .{0,40}ung (cu )?vien|ung (cu )?vien nao (tot|duoc|xung)"
    r"|xung dang (khong|ko|hay)|co bo (la|voi)|bi ky luat.{0,60}\b(ke|noi) (chi tiet|tui nghe|toi nghe|nghe)"
    r"|that hay bia|dung luat hay|bit mieng|tu do hay (la )?(dang )?han che|co loi hon (khong|ko) hay"
    r"|(em|bot|ban) (co )?thay (vay|the) (khong|ko)|cang bang ron|bieu tinh)")
_POLITICS_SUBJECT = re.compile(
    r"\b(nha nuoc|chinh phu|dang|chinh quyen|quoc hoi|bau cu|chinh sach|sap nhap|lanh dao|can bo|chu tich|bi thu"
    r"|truong cong an|cong an|trung uong|tinh uy|dai bieu|ong|ba|ong ay|ba ay|ong ta|ba ta|ung cu vien|ung vien"
    r"|bot|dang cam quyen)\b")
# Which religion is right, whether a rite works: "đạo nào mới là đạo đúng", "cúng sao giải hạn có linh không hay mê tín"
_RELIGION = re.compile(r"\b((dao|ton giao) nao (moi )?(la )?(dao )?(dung|tot|hay|that)|theo dao gi|co linh (khong|ko|thiet|that)"
                       r"|(linh|that) hay (la )?me tin|hay (chi )?la me tin"
                       r"|theo dao nao|dao chinh hay|ta dao|(bot|em) (co )?tin (ong troi|chua|phat|than)|tin (ong troi|chua|phat) (khong|ko))")


# Obtaining a forged or bought paper: "làm giả cái bằng lái", "mua giấy xác nhận độc thân trên mạng xài được không",
# "có chỗ nào làm sổ đỏ giả không". The fake marker "giả" is read with its diacritics ("giá", a price, folds to the same
# letters); folded text counts only "làm giả" before a paper, and buying a paper the state issues (nobody sells one).
# Not a resident who was sold one or wants to tell one apart ("mua phải bằng giả", "phân biệt căn cước giả"): the
# scam guidance answers those.
_PAPER = (r"(giấy tờ|giấy|bằng lái|bằng|sổ đỏ|sổ hồng|sổ|thẻ|căn cước|cccd|cmnd|chứng chỉ|hộ chiếu|con dấu|dấu|"
          r"chữ ký|hồ sơ|xác nhận|lý lịch|học bạ|hóa đơn)")
_FORGE_ACCENTED = re.compile(
    r"(?<!\w)(làm giả|giả mạo (giấy|chữ ký|con dấu|hồ sơ|chữ kí)|(làm|mua|đặt|thuê|kiếm|in|xài|dùng|sử dụng|nộp)"
    r"(?: \w+){0,6} " + _PAPER + r"(?: \w+){0,4} giả)(?!\w)")
_FORGE_FOLDED = re.compile(
    r"\b(lam gia (cai |mot |1 |bo )?(giay|bang|so|the|can cuoc|cccd|chung chi|ho chieu|con dau|dau|chu ky|ho so|ly lich)"
    r"|mua (cai |mot |1 |tam )?(giay (xac nhan|kham|chung nhan|khai sinh|phep|ket hon)|bang (lai|dai hoc|cap|tot nghiep)"
    r"|chung chi|hoc ba|ly lich))\b")
_FORGE_VICTIM = re.compile(r"\b(mua phai|bi lua|phan biet|nhan biet|kiem tra|phat hien|to giac|bao cong an"
                           r"|co phai (la )?gia|that hay gia|lam sao biet)\b")


def asks_for_forgery(text: str) -> bool:
    """Whether the message asks how to get, make or use a forged or bought paper (see _FORGE_ACCENTED)."""
    folded = normalise(text)
    if _FORGE_VICTIM.search(folded):
        return False
    return bool(_FORGE_ACCENTED.search(text.lower()) or _FORGE_FOLDED.search(folded))


# Whether the assistant is a person or a program: "bên này là người hay máy vậy", "tôi đang nhắn với nhân viên
# ủy ban hay với phần mềm", "có phải bot không". The greeting answers it (an automated assistant, and a person on
# request); it is not a request for a person.
# "máy" folds like "mấy" (how many): alone it counts only at the end or before words that end a question about it
_MACHINE = (r"(may(?=\s*$|\s+(tu|tra loi|dong|vay|v|a|ha|the|nhi|do|khong|ko|chu|nhe|day)\b)|bot|robot|chatbot"
            r"|phan mem|tro ly ao|tri tue nhan tao)")
_HUMAN = r"(nguoi( that| truc)?|con nguoi|nhan vien|can bo|tong dai vien)"
_WHO_ANSWERS = re.compile(
    r"\b" + _HUMAN + r"\b[^?.!]{0,40}\bhay (la |voi |chi la )*" + _MACHINE + r"\b"
    r"|\b" + _MACHINE + r"\b[^?.!]{0,40}\bhay (la |voi )*" + _HUMAN + r"\b"
    r"|\b(co phai|phai) (la |dang nhan voi |dang noi chuyen voi )?(bot|robot|chatbot|phan mem|may tu (dong|tra loi)"
    r"|may tra loi)\b"
    r"|\b(ban|em|may|bot) (la|co phai la) (ai|nguoi that|nguoi hay may|bot|robot|chatbot)\b")


def asks_who_answers(text: str) -> bool:
    """Whether the message asks if a person or a program is answering (see _WHO_ANSWERS), not asking for a person."""
    return bool(_WHO_ANSWERS.search(normalise(text))) and not asks_for_a_person(text)


# What happens to what the resident writes here: "nhắn với bot thì tin của tôi có ai đọc được không",
# "tin nhắn gửi cho em có ai đọc không". Not the same question about VNeID, a bank or an account ("thông tin trên
# VNeID có bị lộ không"): the scam and VNeID guides answer those.
_WHAT_I_WRITE = r"(thong tin|tin nhan|du lieu|noi dung|nhung gi|cau hoi|cuoc tro chuyen|so cccd|so can cuoc|so dien thoai)"
# kept, sold, shared, leaked, deleted; read only by someone ("ai đọc", "cán bộ có xem"): "xem thông tin" alone is a how-to
_KEPT = (r"(luu|luu lai|ghi lai|giu lai|ban|chia se|cong khai|bao mat|lo ra|bi lo|xoa"
         r"|(ai|nguoi khac|ai do|can bo( xa| phuong)?|nhan vien|nguoi ta) (co )?(xem|doc|biet))")
_PRIVACY = re.compile(r"\b" + _WHAT_I_WRITE + r"\b.{0,60}\b" + _KEPT + r"\b|\b" + _KEPT + r"\b.{0,30}\b"
                      + _WHAT_I_WRITE + r"\b")
_HERE = re.compile(r"\b(bot|chatbot|tro ly( ao| tu dong)?|noi chuyen voi (em|may)|nhan tin (voi|cho) (em|may)|chat voi"
                   r"|gui cho em|ben nay|o day|em co luu|may tra loi)\b")
_ELSEWHERE = re.compile(r"\b(vneid|tai khoan|ngan hang|dinh danh|otp|mat khau|app|ung dung|dich vu cong)\b")


def asks_about_privacy(text: str) -> bool:
    """Whether the message asks what the assistant keeps of what is written to it (see _PRIVACY)."""
    folded = normalise(text)
    return (bool(_PRIVACY.search(folded) and _HERE.search(folded)) and not _ELSEWHERE.search(folded)
            and asks_something(text))


# An unsolicited contact (a text, a call, someone claiming to be an official, a link or an unknown app) that the
# resident doubts: "nhận được tin nhắn cấp lại sổ đỏ qua đường link có thật không", "có người xưng công an gọi… có nên
# làm theo". Whatever procedure it names, what it needs is the scam guidance, never that procedure's card.
_UNSOLICITED = re.compile(r"\b(tin nhan|nhan tin|sms|goi dien|goi toi|cuoc goi|xung la|xung|gia danh|duong link|link"
                          r"|duong dan|app la|ung dung la|nhan zalo|zalo la)\b")
_DOUBT = re.compile(r"\b(co that khong|that khong|that hay gia|co phai lua dao|lua dao|co tin duoc|tin duoc khong|co nen"
                    r"|an toan khong|gia mao)\b")


# Someone who claims a role ("có người xưng công an", "tự xưng luật sư", "giả danh cán bộ"), or a stranger's number:
# how the scripted scams start. "xưng" folds to "xung", as "xung quanh" does: only before a role.
_CLAIMS_A_ROLE = re.compile(r"\b(tu xung|gia danh|mao danh|(so|nguoi|nick) la (goi|nhan|ket ban)"
                            r"|xung (la )?(minh la )?(can bo|cong an|ca|canh sat|nhan vien|ben|nguoi|luat su|bao hiem"
                            r"|ngan hang|toa|vien kiem sat|chu|bo|doan|thanh tra|dien luc|buu dien))\b")
# …or the contact tells the resident to hand over a secret, send money or install something: "đòi chụp hai mặt căn
# cước với mã OTP", "kêu cài vneid theo đường link", "nói chuyển tiền vào tài khoản tạm giữ". Not "bảo": folded it is
# "báo", and "ngân hàng nhắn tin báo chuyển khoản thành công" hands nothing over.
_HAND_OVER = re.compile(r"\b(doi|bat|yeu cau|keu|bieu|noi|huong dan)\b(?: \w+){0,8} "
                        r"((doc|gui|cung cap|chup|dua|nhap|cho)(?: \w+){0,4} (ma otp|otp|ma xac (thuc|nhan)|mat khau"
                        r"|passcode|so the|ma pin|hai mat|mat truoc)|chuyen (tien|khoan)|cai(?: \w+){0,3} (theo|qua) "
                        r"(link|duong link|duong dan)|bam (vao )?(link|duong link|duong dan))\b")


def sounds_like_scam(text: str) -> bool:
    """An unsolicited contact about a procedure that the resident doubts, that claims a role, or that asks for a
    secret, money or an install (see _UNSOLICITED, _CLAIMS_A_ROLE, _HAND_OVER)."""
    folded = normalise(text)
    if _CLAIMS_A_ROLE.search(folded):
        return True
    return bool(_UNSOLICITED.search(folded) and (_DOUBT.search(folded) or _HAND_OVER.search(folded)))


def sensitive_request(text: str) -> str:
    """What makes a message one the assistant must not take up, or "": "private" (an official's private contact),
    "bribe" (paying an official on the side, asked about), "snooping" (someone else's account or personal data),
    "politics" (a political judgement, gossip about an official), "religion" (which faith is right, whether a rite
    works) or "forgery" (getting a forged or bought paper). Issue 10: a polite refusal, never a guide's answer and
    never a volunteer as if it were a question for one.
    """
    folded = normalise(text)
    if _PRIVATE_DETAILS.search(folded):
        return "private"
    if _BRIBE.search(folded) and asks_something(text):  # a report with no question is feedback: it is recorded
        return "bribe"
    if _SNOOPING.search(folded) or _LOOKUP_OTHERS.search(folded):
        return "snooping"
    if _POLITICS.search(folded) and _POLITICS_SUBJECT.search(folded):
        return "politics"
    if _RELIGION.search(folded):
        return "religion"
    if asks_for_forgery(text):
        return "forgery"
    return ""


def with_bigrams(toks: list[str]) -> list[str]:
    """Syllables plus adjacent syllable pairs ('kich_hoat'), since Vietnamese words span syllables."""
    return toks + [f"{a}_{b}" for a, b in zip(toks, toks[1:], strict=False)]


# --- personal data -------------------------------------------------------------------------------------------

_SEP = r"[ .\-]?"
# Digit runs glued to letters, dots or dashes belong to codes (dossier "H09-240228-0005", dates), not to people.
_START = r"(?<![\w.\-+])"
_END = r"(?![\w]|[.\-]\d)"
_UNIT = r"\s?(?:đồng|dong\b|đ\b|d\b|₫|vnđ|vnd|k\b|nghìn|nghin|ngàn|ngan|triệu|trieu|tr\b|usd|\$)"
_MONEY = r"(?!" + _UNIT + ")"
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

# A whole run of digits, single spaces/dots/dashes between them. Found whole (no trailing assertion to backtrack
# from), so a rule can never take the first 12 digits of a 16-digit card and leave the rest.
_DIGIT_RUN = re.compile(r"\d(?:[ .\-]?\d)*")
_GLUED_BEFORE = re.compile(r"[\w.\-+]")
_GLUED_AFTER = re.compile(r"\w")
_UNIT_AFTER = re.compile(_UNIT, re.IGNORECASE)
_CARD_DIGITS = range(13, 20)
# Bank account numbers: 6–19 digits within a few words after an account word (matched on folded text).
_ACCOUNT_DIGITS = range(6, 20)
_ACCOUNT_WORDS = re.compile(r"\b(?:so tai khoan|tai khoan ngan hang|stk|tk|account|acc)\b")
# "tk"/"acc" also name a VNeID or dichvucong login, whose number is a phone or CCCD: those rules label it better.
_NOT_BANK = re.compile(
    r"\b(?:vneid|vnid|cccd|cmnd|can cuoc|dinh danh|sdt|so dien thoai|dien thoai|dt|otp|mat khau|mk|zalo|email"
    r"|gmail|dvc|dich vu cong|dang nhap)\b"
)
_ACCOUNT_GAP_CHARS, _ACCOUNT_GAP_WORDS = 40, 4
# Same sentence and no other number between the word and the account; a line break only when nothing else is between
# ("STK:\n0123456789").
_ACCOUNT_GAP = re.compile(r"[^\d?!;\n]*|[^\w?!;]*")
_DATE = re.compile(r"\d{1,2}[.\-]\d{1,2}[.\-]\d{2,4}")


def mask_pii(text: str) -> str:
    """Replace card, bank-account, CCCD/CMND, phone and other long numbers and OTP-like codes with PLACEHOLDERS."""
    if not text or not any(ch.isdigit() for ch in text):
        return text
    if _BARE_CODE.fullmatch(text):
        return "[MÃ]"
    # bank numbers first: a 10-digit account starting with 0 would otherwise read as a phone, a card as a CCCD
    text = _mask_bank_accounts(text)
    text = _DIGIT_RUN.sub(_mask_long_number, text)
    text = _CCCD.sub("[CCCD]", text)
    text = _PHONE.sub("[SĐT]", text)
    text = _CMND.sub("[CMND]", text)
    text = _OTP.sub("[MÃ]", text)
    return _mask_near_otp_words(text)


def _standalone(text: str, start: int, end: int) -> bool:
    """True when text[start:end] is a number of its own: not glued to a code, not an amount of money."""
    if start > 0 and _GLUED_BEFORE.match(text, start - 1):
        return False
    return not _GLUED_AFTER.match(text, end) and not _UNIT_AFTER.match(text, end)


def _digits(run: str) -> str:
    """The digits of a run, separators dropped."""
    return "".join(ch for ch in run if ch.isdigit())


def _luhn(digits: str) -> bool:
    """The Luhn checksum every payment card number carries."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        value = unicodedata.decimal(ch, 0) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _mask_long_number(match: re.Match[str]) -> str:
    """A 13–19 digit run: [THẺ] when it passes Luhn, else [SỐ], always whole (half a number is still personal)."""
    run = match.group()
    if len(_digits(run)) not in _CARD_DIGITS or not _standalone(match.string, match.start(), match.end()):
        return run
    return "[THẺ]" if _luhn(_digits(run)) else "[SỐ]"


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """One character folded like fold() does: lowercase, đ→d, diacritics dropped (may be empty)."""
    lowered = ch.lower()
    lowered = lowered if len(lowered) == 1 else ch  # "İ".lower() is two characters: keep positions simple
    decomposed = unicodedata.normalize("NFD", "d" if lowered == "đ" else lowered)
    return "".join(c for c in decomposed if not "\u0300" <= c <= "\u036f")


def _fold_with_positions(text: str) -> tuple[str, list[int]]:
    """fold() without collapsing anything, plus where each folded character came from in `text`."""
    chars: list[str] = []
    positions: list[int] = []
    for i, ch in enumerate(text):
        folded = ch.lower() if ch.isascii() else _fold_char(ch)
        chars.append(folded)
        positions.extend([i] * len(folded))
    return "".join(chars), positions


def _mask_bank_accounts(text: str) -> str:
    """A 6–19 digit number a few words after "stk"/"số tài khoản"/"tk"/"account" is a bank account: [STK]."""
    folded, positions = _fold_with_positions(text)
    word_ends = [m.end() for m in _ACCOUNT_WORDS.finditer(folded)]
    if not word_ends:
        return text
    spans: list[tuple[int, int]] = []
    for run in _DIGIT_RUN.finditer(folded):
        digits = _digits(run.group())
        if (
            len(digits) not in _ACCOUNT_DIGITS
            or not _standalone(folded, run.start(), run.end())
            or _DATE.fullmatch(run.group())
            or (_HOTLINE.match(digits) and len(digits) in (8, 10))
        ):
            continue
        # only the words that end close enough before the number: a long message full of "tk" stays linear
        start = run.start()
        low, high = bisect.bisect_left(word_ends, start - _ACCOUNT_GAP_CHARS), bisect.bisect_right(word_ends, start)
        if any(_is_account_gap(folded[end:start]) for end in word_ends[low:high]):
            spans.append((positions[start], positions[run.end() - 1] + 1))
    for start, end in reversed(spans):
        text = text[:start] + "[STK]" + text[end:]
    return text


def _is_account_gap(gap: str) -> bool:
    """True when the folded words between an account word and a number still tie them together."""
    return (
        len(gap) <= _ACCOUNT_GAP_CHARS
        and _ACCOUNT_GAP.fullmatch(gap) is not None
        and len(re.findall(r"\w+", gap)) <= _ACCOUNT_GAP_WORDS
        and not _NOT_BANK.search(gap)
    )


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


# What mask_pii() puts in place of personal data: [MÃ] code, [SĐT] phone, [CCCD], [CMND], [THẺ] payment card,
# [STK] bank account, [SỐ] other 13–19 digit number. A message left with only these carries no question.
PLACEHOLDERS: tuple[str, ...] = ("[MÃ]", "[SĐT]", "[CCCD]", "[CMND]", "[THẺ]", "[STK]", "[SỐ]")
# Messages longer than this are not a question we can answer well; the resident is asked to shorten them.
MAX_MESSAGE_CHARS = 1500
_TAG = re.compile(r"<[^>]{0,200}>")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def strip_tags(text: str) -> str:
    """Remove HTML-looking tags (residents paste them; they carry no question)."""
    return _TAG.sub(" ", text)


def input_problem(text: object) -> str | None:
    """Why a message cannot be read ('empty', 'no_text', 'too_long', 'non_text', 'code'), or None when it is fine.

    'code' is machine-like input (SQL, template or script probes, see looks_like_code): answered as bad input,
    never matched against the guides.
    """
    if not isinstance(text, str):
        return "non_text"
    cleaned = nfc(strip_tags(text))
    for placeholder in PLACEHOLDERS:
        cleaned = cleaned.replace(placeholder, "")
    if not cleaned.strip():
        return "empty"
    if len(text) > MAX_MESSAGE_CHARS:
        return "too_long"
    if not _LETTER.search(cleaned):
        return "no_text"
    if looks_like_code(text):
        return "code"
    return None


# Machine-like input: injection and probe payloads that scanners and bored testers send. Every pattern needs
# syntax a resident does not type (a quote before OR, "{{", "<script", "../../", "rm -rf"), never a lone English word
# like "select" or "drop": telling a resident their question is garbage costs more than answering a probe politely.
# What makes a template placeholder a probe: arithmetic, a dunder, a call, or an object templates expose.
_PROBE = (
    r"(?:\d+\s*[*+/-]\s*\d+|__\w+__|\w\(|jndi:|env:|sys:|java:"
    r"|\b(?:config|self|request|lipsum|cycler|joiner|namespace|settings|constructor|runtime|process|class)\b)"
)
_FORMAT = r"%(?:\d+\$)?[sdnxp](?![^\W\d_])"
_CODE_PATTERNS: tuple[str, ...] = (
    # SQL: a quote closing a string, then a tautology ("' OR 1=1", "' or 'a'='a") or the end of the query
    r"['\"`]\s*\)?\s*(?:or|and)\s+['\"`]?\w+['\"`]?\s*(?:=|like\b)\s*['\"`]?\w+",
    r"\b(?:or|and)\s+(?P<n>\d+)\s*=\s*(?P=n)\b",
    r"\w['\"`]\)?;?(?:--|/\*)\s*$",
    r"\bunion\s+(?:all\s+)?select\b",
    r"\bselect\s+(?:\*|[\w.]+(?:\s*,\s*[\w.]+)+|(?:count|concat|version|user|database)\s*\([^)]{0,40}\))\s+from\b",
    r"\bselect\b.{0,80}\bfrom\b.{0,80}\bwhere\b.{0,40}=",
    r"(?:^|[;'\"`)]\s*)(?:drop|truncate|alter)\s+(?:table|database|schema)\s+[\w`\"\[]",
    r"\binsert\s+into\s+[\w`\"\[\].]+\s*(?:\(|values\b|select\b)",
    r"\bdelete\s+from\s+[\w`\"\[\].]+\s*(?:where\b|;|$)",
    r"\bupdate\s+[\w`\"\[\].]+\s+set\s+\w+\s*=",
    r"\b(?:sleep|pg_sleep|benchmark)\s*\(\s*\d",
    r"\bwaitfor\s+delay\b",
    r"\b(?:xp_cmdshell|information_schema|load_file)\b",
    # NoSQL / LDAP operators
    r"\{\s*['\"]?\$(?:gt|gte|lt|lte|ne|nin|in|where|regex|exists|or|and)['\"]?\s*:",
    r"\*\)\s*\(\s*\|?\s*\(?\w+\s*=\s*\*",
    # template and format-string probes
    # (a bare "{{otp}}" or "${name}" is a broken SMS template a resident may paste: only expressions count)
    r"\{\{[^{}]{0,100}?" + _PROBE + r"[^{}]{0,100}?\}\}",
    r"[$#]\{[^{}]{0,100}?" + _PROBE + r"[^{}]{0,100}?\}",
    r"<%[^%]{0,100}?" + _PROBE + r"[^%]{0,100}?%>",
    r"\{%\s*(?:for|if|set|import|include|extends|block|macro|raw|debug)\b.{0,100}?%\}",
    # (a broken "Lỗi %s: %s" message is pasted too: three specifiers in a row, or one of the probing %n/%x/%p)
    r"(?:" + _FORMAT + r"[\s.,;:|-]*){3,}",
    r"%(?:\d+\$)?[nxp](?![^\W\d_])[\s.,;:|-]*" + _FORMAT + "|" + _FORMAT + r"[\s.,;:|-]*%(?:\d+\$)?[nxp](?![^\W\d_])",
    # script and HTML
    r"<\s*/?\s*script\b",
    r"<\s*(?:iframe|object|embed|applet)\b",
    r"<[a-z][a-z0-9]*\b[^<>]{0,200}?\son[a-z]{3,20}\s*=",
    r"\b(?:javascript|vbscript)\s*:\s*(?:alert|prompt|confirm|eval|document|window|fetch|location|top|self)\b",
    r"\b(?:alert|prompt|confirm)\s*\(\s*(?:\d+|['\"`][^'\"`]{0,50}['\"`]|document\.\w+)\s*\)",
    r"\bdocument\.(?:cookie|domain|write)\b",
    r"\bdata:text/html\b",
    r"<\?php\b",
    r"<!\s*entity\b",
    # path traversal
    r"(?:\.\.[/\\]){2,}",
    r"(?:%2e%2e|\.\.)(?:%2f|%5c)",
    r"/etc/(?:passwd|shadow|hosts)\b",
    r"\b(?:win|boot)\.ini\b",
    # shell
    r"\brm\s+-[a-z]*[rf][a-z]*\s+[/~*.]",
    r"[;&|`]\s*(?:cat|ls|id|uname|wget|curl|nc|bash|sh|whoami|ping|chmod|nslookup)\b\s*(?:[-/$|;&`]|$)",
    r"\$\(\s*(?:whoami|id|uname|ls|cat|rm|curl|wget|echo|sleep|ping|bash|sh|env|pwd|hostname|nslookup)\b[^)]{0,100}\)",
    r"`\s*(?:whoami|id|uname|ls|cat|rm|curl|wget|echo|sleep|ping|env|pwd|hostname)\b[^`]{0,100}`",
    r"\|\s*(?:ba)?sh\b",
    r"/bin/(?:ba)?sh\b|\bcmd\.exe\b|\bpowershell\s+-",
    r"\bwhoami\b",
    r"%0d%0a",
    r"(?:\\x[0-9a-f]{2}){4,}",
)
_CODE = re.compile("|".join(f"(?:{pattern})" for pattern in _CODE_PATTERNS), re.IGNORECASE | re.DOTALL)


def looks_like_code(text: str) -> bool:
    """True when a message is an injection or probe payload (SQL, template, script, path, shell), not a question."""
    # cleaned first, so a zero-width space inside "<scr\u200bipt>" hides nothing
    return _CODE.search(clean(text)) is not None


# A district-level office named as a place to go. Districts were abolished on 1/7/2025.
# Matched on lowercase text WITH diacritics: folded, "quận" (district) and "quản" (manage) would be the same word.
_DISTRICT = re.compile(
    r"\b(cấp huyện|cấp quận|(ubnd|ủy ban nhân dân|uỷ ban nhân dân|công an|phòng tư pháp|phòng|tòa án|toà án|chi cục|"
    r"bệnh viện|bộ phận một cửa)\s+(quận|huyện|thị xã)|quận/huyện|huyện/quận|quận, huyện|quận huyện)(?!\w)"
)
_DISTRICT_OK = re.compile(r"khong con|bai bo|da bo|cham dut|xoa bo")


def names_district_office(text: str) -> bool:
    """The text sends someone to a district-level office (and does not say that level is gone)."""
    return bool(_DISTRICT.search(nfc(text).lower())) and not _DISTRICT_OK.search(fold(text))


def truncate(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters, at a word boundary where possible."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"

