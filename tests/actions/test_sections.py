"""Which part of a guide answers: question shapes, the cue gate, the summary for general questions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from actions.retrieval.calibration import SectionWeights
from actions.retrieval.index import HybridIndex, Passage
from actions.retrieval.sections import (
    GENERAL,
    PartFeatures,
    PartModel,
    char_grams,
    choose_section,
    fit_part_model,
    part_model,
    part_models_file,
    pick_part,
    ready_part_models,
    same_part,
    stored_part_models,
)
from common.text import normalise, part_shapes


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("làm lại căn cước hết bao nhiêu tiền", "Phí và thời gian"),
        ("lam ho chieu mat may ngay", "Phí và thời gian"),
        ("bn tien", "Phí và thời gian"),
        ("xin lý lịch tư pháp ở đâu", "Hỏi ở đâu"),
        ("so tong dai vneid la so nao", "Hỏi ở đâu"),
        ("đăng ký kết hôn cần giấy tờ gì", "Cần chuẩn bị"),
        ("làm thế nào để nộp hồ sơ", "Các bước"),
        ("nộp tạm trú mấy bữa thì có kết quả", "Phí và thời gian"),
        ("tự làm trên app thì phải đóng nhiêu", "Phí và thời gian"),
        ("tổng đài cổng dịch vụ công số mấy", "Hỏi ở đâu"),
        ("phải để sẵn những gì", "Cần chuẩn bị"),
        ("nộp giấy xác nhận độc thân rồi chừng nào mới lấy", "Phí và thời gian"),  # "chừng nào" reads "khi nào"
        ("bị lừa rồi thì phải báo cho ai", "Hỏi ở đâu"),
        ("đơn này gửi ai", "Hỏi ở đâu"),
        ("giấy tờ phải chuẩn bị ra sao", "Cần chuẩn bị"),
    ],
)
def test_question_shapes_read_with_or_without_diacritics(text: str, cue: str) -> None:
    assert cue in part_shapes(text)


def test_a_general_question_has_no_shape() -> None:
    assert part_shapes("thẻ căn cước") == set()
    assert part_shapes("nhiều người hỏi trả nhiều lần") == set()  # "nhiều" (many) is not "nhiêu" (how much)


def features(headings: tuple[str, ...], lexical: list[float], cue: list[float]) -> PartFeatures:
    n = len(headings)
    return PartFeatures(headings, np.array(lexical), np.zeros(n), np.array(cue),
                        np.array([1.0 if h == GENERAL else 0.0 for h in headings]),
                        np.array([h in ("Phí và thời gian", "Hỏi ở đâu", "Cần chuẩn bị", "Các bước") for h in headings]))


def test_a_fee_part_needs_a_fee_question() -> None:
    # "kích hoạt … miễn phí" matches the fee line best, but the question does not ask about fees
    parts = features((GENERAL, "Phí và thời gian", "Quên passcode"), [0.6, 1.0, 0.2], [0, 0, 0])
    assert pick_part(parts, SectionWeights()).heading == GENERAL
    asked = features((GENERAL, "Phí và thời gian", "Quên passcode"), [0.6, 1.0, 0.2], [0, 1, 0])
    assert pick_part(asked, SectionWeights()).heading == "Phí và thời gian"


def test_a_fee_part_without_a_fee_question_can_win_through_its_own_questions_at_a_cost() -> None:
    # "lấy ngay được không hay phải hẹn hôm sau" has no fee shape, but matches a question written for the fee part
    headings = (GENERAL, "Phí và thời gian", "Phí và thời gian", "Quên passcode")
    base = replace(features(headings, [0.5, 0.3, 1.0, 0.2], [0, 0, 0, 0]),
                   from_questions=np.array([False, False, True, False]))
    assert pick_part(base, SectionWeights()).heading == GENERAL  # off by default (uncued < 0)
    assert pick_part(base, SectionWeights(uncued=0.2)).heading == "Phí và thời gian"
    assert pick_part(base, SectionWeights(uncued=0.6)).heading == GENERAL  # the cost outweighs the lead
    # the part's own text never wins without the shape, whatever the cost
    own_text = replace(base, from_questions=np.array([False, False, False, False]))
    assert pick_part(own_text, SectionWeights(uncued=0.0)).heading == GENERAL


def test_a_problem_that_matches_beats_the_summary() -> None:
    parts = features((GENERAL, "Quên passcode"), [0.4, 1.0], [0, 0])
    choice = pick_part(parts, SectionWeights(general=0.2))
    assert (choice.heading, choice.runner_up) == ("Quên passcode", GENERAL)


def test_no_parts_means_the_summary() -> None:
    empty = PartFeatures((), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool))
    assert pick_part(empty, SectionWeights()).heading == GENERAL


@pytest.mark.parametrize(("got", "label", "same"), [("", "Tóm tắt", True), ("Tóm tắt", "", True),
                                                    ("Phí và thời gian", "phi va thoi gian", True),
                                                    ("Hỏi ở đâu", "Phí và thời gian", False)])
def test_same_part(got: str, label: str, same: bool) -> None:
    assert same_part(got, label) is same


def test_a_problem_needs_a_word_beyond_the_topic() -> None:
    # "kích hoạt vneid thế nào" names only the topic: a problem whose examples repeat the topic's words does not win
    headings = (GENERAL, "Không có điện thoại thông minh")
    base = features(headings, [0.8, 1.0], [0, 0])
    only_topic = replace(base, evidence=np.array([True, False]))
    assert pick_part(only_topic, SectionWeights()).heading == GENERAL
    with_evidence = replace(base, evidence=np.array([True, True]))
    assert pick_part(with_evidence, SectionWeights()).heading == "Không có điện thoại thông minh"


def test_a_question_of_a_parts_shape_needs_no_other_word() -> None:
    # "lệ phí căn cước": the fee part answers though "lệ phí" is all the question adds to the topic's words
    headings = (GENERAL, "Phí và thời gian")
    parts = PartFeatures(headings, np.array([0.5, 1.0]), np.zeros(2), np.array([0.0, 1.0]), np.array([1.0, 0.0]),
                         np.array([False, True]), evidence=np.array([True, False]))
    assert pick_part(parts, SectionWeights()).heading == "Phí và thời gian"


def test_the_summary_answers_a_question_that_only_names_the_topic(bm25_index: HybridIndex) -> None:
    assert choose_section(bm25_index, "vneid-activate", "kích hoạt vneid thế nào", SectionWeights()).heading == GENERAL


@pytest.mark.parametrize(
    ("guide", "text", "part"),
    [
        ("birth-registration", "con tôi sinh ở nhà nên không có giấy chứng sinh, khai sinh thế nào",
         "Mất hoặc không có giấy chứng sinh"),
        ("birth-registration", "con toi sinh o nha nen khong co giay chung sinh, khai sinh the nao",
         "Mất hoặc không có giấy chứng sinh"),
        ("birth-registration", "chau duoc 4 thang moi di khai sinh co bi phat k", "Quá 60 ngày mới đi khai sinh"),
        ("can-cuoc", "mat the can cuoc thi lam lai o dau", "Mất hoặc hỏng thẻ"),
    ],
)
def test_the_part_model_learns_each_part_from_its_examples(bm25_index: HybridIndex, guide: str, text: str,
                                                           part: str) -> None:
    # none of these is an example in knowledge/questions; the model has seen the parts' examples and text only
    probabilities = PartModel.learn(bm25_index, guide).probabilities(text, None)
    assert max(probabilities, key=probabilities.__getitem__) == part
    assert abs(sum(probabilities.values()) - 1) < 1e-6 and GENERAL in probabilities


def test_a_guides_part_model_is_learned_once(bm25_index: HybridIndex) -> None:
    assert part_model(bm25_index, "can-cuoc") is part_model(bm25_index, "can-cuoc")


def test_the_part_models_probability_is_weighed_in_at_its_calibrated_weight() -> None:
    headings = (GENERAL, "Mất hoặc hỏng thẻ", "Đổi thông tin")
    parts = replace(features(headings, [0.4, 0.5, 0.6], [0, 0, 0]), model=np.array([0.1, 0.8, 0.1]))
    assert pick_part(parts, SectionWeights()).heading == "Đổi thông tin"  # not used by default
    assert pick_part(parts, SectionWeights(classifier=1.0)).heading == "Mất hoặc hỏng thẻ"


def sklearn_probabilities(index: HybridIndex, guide: str, text: str, vector: np.ndarray | None) -> dict[str, float]:
    from scipy.sparse import csr_matrix, hstack

    fitted = fit_part_model(index, guide)
    assert fitted is not None
    vectorizer, classifier, _ = fitted
    grams = vectorizer.transform([normalise(text)])
    features = grams if vector is None else hstack([grams, csr_matrix(vector[None, :])]).tocsr()
    return dict(zip(map(str, classifier.classes_), classifier.predict_proba(features)[0], strict=True))


@pytest.mark.parametrize("text", ["làm lại căn cước bị mất hết bao nhiêu tiền", "mat giay chung sinh", "zzz", "ở đâu"])
def test_the_part_models_own_scoring_is_the_classifiers(bm25_index: HybridIndex, text: str) -> None:
    for guide in ("can-cuoc", "birth-registration", "scam-safety"):
        model = part_model(bm25_index, guide)
        ours, theirs = model.probabilities(text, None), sklearn_probabilities(bm25_index, guide, text, None)
        assert ours.keys() == theirs.keys()
        assert max(abs(ours[k] - theirs[k]) for k in ours) < 1e-5


def test_a_guide_with_two_parts_and_dense_vectors_scores_as_the_classifier() -> None:
    # sklearn keeps one row of weights for two classes: the scoring must turn it back into two
    texts = [("", "thẻ căn cước là gì"), ("", "căn cước dùng để làm gì"), ("Phí", "làm thẻ hết bao nhiêu tiền"),
             ("Phí", "lệ phí cấp đổi thẻ"), ("", "giới thiệu về căn cước"), ("Phí", "mất mấy ngày có thẻ")]
    passages = [Passage("g", section, "part", text) for section, text in texts]
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(len(passages), 8)).astype(np.float32)
    index = SimpleNamespace(by_guide={"g": list(range(len(passages)))}, passages=passages, vectors=vectors)
    model = PartModel.learn(index, "g")  # type: ignore[arg-type]
    query = rng.normal(size=8).astype(np.float32)
    for text in ("phí làm thẻ bao nhiêu", "căn cước là gì"):
        ours, theirs = model.probabilities(text, query), sklearn_probabilities(index, "g", text, query)  # type: ignore[arg-type]
        assert set(ours) == {GENERAL, "Phí"}
        assert max(abs(ours[k] - theirs[k]) for k in ours) < 1e-5
    assert abs(sum(model.probabilities("phí làm thẻ", None).values()) - 1) < 1e-6  # a question with no vector


@pytest.mark.parametrize("text", ["lam lai can cuoc bi mat", "a b  cd   efgh ijklmnop", "x", "", "đăng ký  tạm trú"])
def test_the_n_grams_are_scikit_learns(text: str) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    analyse = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).build_analyzer()
    assert char_grams(text) == analyse(text)


def stored_index(tmp_path: Path, bm25_index: HybridIndex) -> HybridIndex:
    """The same passages, with an empty cache folder of its own and nothing learned yet."""
    return HybridIndex(bm25_index.guides, bm25_index.passages, None, None, cache_dir=tmp_path)


def test_stored_part_models_score_as_the_learned_ones(tmp_path: Path, bm25_index: HybridIndex,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    learning = stored_index(tmp_path, bm25_index)
    assert stored_part_models(learning) == {}
    assert ready_part_models(learning).startswith("learned and stored")
    assert part_models_file(learning) is not None and part_models_file(learning).exists()  # type: ignore[union-attr]

    # the next start reads them and learns nothing: scikit-learn is not needed
    monkeypatch.setattr(PartModel, "learn", lambda *_: pytest.fail("learned again"))
    reading = stored_index(tmp_path, bm25_index)
    assert ready_part_models(reading) == "stored"
    for guide in ("can-cuoc", "birth-registration", "vneid-activate"):
        for text in ("làm lại căn cước bị mất hết bao nhiêu tiền", "mat giay chung sinh", "zzz"):
            assert part_model(reading, guide).probabilities(text, None) == \
                part_model(learning, guide).probabilities(text, None)


def test_other_passages_do_not_read_stored_part_models(tmp_path: Path, bm25_index: HybridIndex) -> None:
    ready_part_models(stored_index(tmp_path, bm25_index))
    fewer = [p for p in bm25_index.passages if p.text != bm25_index.passages[-1].text]
    other = HybridIndex(bm25_index.guides, fewer, None, None, cache_dir=tmp_path)
    assert part_models_file(other) != part_models_file(stored_index(tmp_path, bm25_index))
    assert stored_part_models(other) == {}


def test_a_read_only_cache_still_learns_the_part_models(tmp_path: Path, bm25_index: HybridIndex,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    def read_only(*_: object, **__: object) -> None:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(Path, "mkdir", read_only)
    index = stored_index(tmp_path / "ro", bm25_index)
    assert ready_part_models(index) == "learned"
    assert "Could not store the part models" in caplog.text
    assert part_model(index, "can-cuoc").classes  # learned, usable


def test_a_torn_stored_file_is_ignored_and_the_part_models_learned(tmp_path: Path, bm25_index: HybridIndex,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    index = stored_index(tmp_path, bm25_index)
    path = part_models_file(index)
    assert path is not None
    path.write_bytes(b"PK\x03\x04 not a whole archive")
    assert stored_part_models(index) == {}
    assert "Ignoring the stored part models" in caplog.text
    assert part_model(index, "can-cuoc").classes
