"""VietnameseNormalizer and InputGuard, run on Message objects the way Rasa's graph runs them."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from common.text import MAX_MESSAGE_CHARS, input_problem
from rasa_addons.nlu import (
    BAD_INPUT_INTENT,
    RAW_TEXT,
    InputGuard,
    PartQuestionGuard,
    VietnameseNormalizer,
    is_payload,
)

CHOOSE_TOPIC = '/choose_topic{"topic": "vneid-activate"}'
BAD_INPUT = {"name": BAD_INPUT_INTENT, "confidence": 1.0}


def message(text: Any = None, metadata: dict[str, Any] | None = None, **data: Any) -> Message:
    """A message as Rasa builds it from a UserMessage: text plus channel metadata."""
    body: dict[str, Any] = dict(data)
    if text is not None:
        body[TEXT] = text
    if metadata is not None:
        body["metadata"] = metadata
    return Message(data=body)


def normalised(text: str) -> Message:
    return VietnameseNormalizer().process([message(text)])[0]


def guarded(msg: Message) -> Message:
    return InputGuard().process([msg])[0]


def through_pipeline(text: Any, metadata: dict[str, Any] | None = None) -> Message:
    """Normaliser then guard, in the order config.yml runs them."""
    msg = message(text, metadata)
    VietnameseNormalizer().process([msg])
    return guarded(msg)


def intent_of(msg: Message) -> str | None:
    return (msg.get(INTENT) or {}).get("name")


# --- VietnameseNormalizer -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tôi không nhận được mã OTP", "toi khong nhan duoc ma otp"),
        ("toi ko nhan dc ma otp vneid", "toi khong nhan duoc ma otp vneid"),
        ("ĐĂNG KÝ khai sinh cho bé", "dang ky khai sinh cho be"),
        ("Làm CCCD ở đâu?", "lam can cuoc cong dan o dau"),
        ("cho em xin sđt tổng đài", "cho em xin so dien thoai tong dai"),
        ("nộp hs trên dvc ntn", "nop ho so tren dich vu cong nhu the nao"),
        ("<b>Đăng ký</b> tạm trú", "dang ky tam tru"),
        ("/ làm cccd ở đâu", "lam can cuoc cong dan o dau"),
        ("/hỏi chút", "hoi chut"),
    ],
)
def test_normalizer_folds_diacritics_and_expands_abbreviations(text: str, expected: str) -> None:
    assert normalised(text).get(TEXT) == expected


def test_normalizer_drops_the_words_that_open_a_message_and_name_nothing() -> None:
    # "thế" folds to "the", as "thẻ" (a card) does: the classifier sees the question, the raw text stays whole
    msg = normalised("Thế làm tạm trú cho con thì hết bao nhiêu")
    assert msg.get(TEXT) == "lam tam tru cho con thi het bao nhieu"
    assert msg.get(RAW_TEXT) == "Thế làm tạm trú cho con thì hết bao nhiêu"
    assert normalised("thẻ bhyt mất rồi").get(TEXT) == "the bao hiem y te mat roi"


def test_normalizer_keeps_the_raw_text() -> None:
    msg = normalised("Tôi ko nhận đc mã OTP")

    assert msg.get(RAW_TEXT) == "Tôi ko nhận đc mã OTP"
    assert msg.get(TEXT) == "toi khong nhan duoc ma otp"


def test_with_and_without_diacritics_reach_the_classifier_as_the_same_text() -> None:
    assert normalised("đăng ký tài khoản dịch vụ công").get(TEXT) == normalised("dk tk dvc").get(TEXT)


# --- is_payload -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        CHOOSE_TOPIC,
        '/choose_topic{"topic": "vneid-activate", "section": "2"}',
        "/request_human",
        "/nav_menu",
        "  /nav_menu\n",
        "/choose_topic{}",
    ],
)
def test_is_payload_accepts_well_formed_intent_payloads(text: str) -> None:
    assert is_payload(text)


@pytest.mark.parametrize(
    "text",
    [
        "/",
        "//",
        "/?",
        "/😀",
        "/ làm cccd ở đâu",
        "/hỏi chút",
        "/nav_menu giúp em",
        "/Nav_Menu",
        "nav_menu",
        "",
        None,
        42,
    ],
)
def test_is_payload_rejects_anything_else(text: Any) -> None:
    assert not is_payload(text)


@pytest.mark.parametrize("payload", [CHOOSE_TOPIC, "/request_human", "/nav_menu"])
def test_normalizer_leaves_intent_payloads_alone(payload: str) -> None:
    msg = normalised(payload)

    assert msg.get(TEXT) == payload
    assert msg.get(RAW_TEXT) is None


@pytest.mark.parametrize("text", ["😀😀😀", "!!!", "<script></script>"])
def test_normalizer_keeps_text_that_folds_to_nothing(text: str) -> None:
    # the guard still needs something to look at, and featurizers must not see an empty string
    assert normalised(text).get(TEXT) == text


@pytest.mark.parametrize("text", ["", None])
def test_normalizer_skips_missing_text(text: str | None) -> None:
    msg = normalised(text)  # type: ignore[arg-type]

    assert msg.get(TEXT) == text
    assert msg.get(RAW_TEXT) is None


def test_normalizer_cuts_overlong_text_but_keeps_all_of_the_raw_text() -> None:
    raw = "dang ky " * 400

    msg = normalised(raw)

    assert len(msg.get(TEXT)) <= MAX_MESSAGE_CHARS
    assert msg.get(RAW_TEXT) == raw


def test_normalizer_rewrites_training_examples_too() -> None:
    data = TrainingData([Message(data={TEXT: "Kích hoạt VNeID", INTENT: "ask_vneid_activate"})])

    VietnameseNormalizer().process_training_data(data)

    assert data.training_examples[0].get(TEXT) == "kich hoat vneid"
    assert data.training_examples[0].get(INTENT) == "ask_vneid_activate"


# --- input_problem and InputGuard -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("\u200b\u200b\u200b", "empty"),
        ("\u200b \ufeff\u2060", "empty"),
        ("<script></script>", "empty"),
        ("😀😂👍", "no_text"),
        ("🙏 🙏", "no_text"),
        ("!!!", "no_text"),
        ("??? ...", "no_text"),
        ("a" * (MAX_MESSAGE_CHARS + 1), "too_long"),
        (None, "non_text"),
        (42, "non_text"),
        ("xin chào", None),
        ("toi ko nhan dc ma otp", None),
        ("cảm ơn 👍", None),
        ("[MÃ]", "empty"),
        ("[SĐT] [CCCD]", "empty"),
        ("a" * MAX_MESSAGE_CHARS, None),
    ],
)
def test_input_problem(text: Any, problem: str | None) -> None:
    assert input_problem(text) == problem


# The guard no longer attaches the reason as a `problem` entity (domain.yml has no such entity any more):
# action_bad_input works the reason out again from the text and the channel metadata.


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("    ", "empty"),
        ("\u200b\u200c\u200d", "empty"),
        ("😀😀😀", "no_text"),
        ("👍", "no_text"),
        ("!!!", "no_text"),
        ("<script></script>", "empty"),
        ("[MÃ]", "empty"),  # a bare OTP, masked by the channel
        ("hỏi " * 600, "too_long"),
        ("' OR 1=1; DROP TABLE users; --", "code"),
        ("{{7*7}} ${7*7} %s %n", "code"),
    ],
)
def test_guard_marks_unreadable_messages_as_bad_input(text: str, problem: str) -> None:
    msg = through_pipeline(text)

    assert msg.get(INTENT) == BAD_INPUT
    assert msg.get(INTENT_RANKING_KEY) == [BAD_INPUT]
    assert msg.get(ENTITIES) is None
    # the reason action_bad_input will recompute from the same text
    assert input_problem(text) == problem


def test_guard_output_reaches_the_parse_result_without_entities() -> None:
    parsed = through_pipeline("🙂🙂").as_dict(only_output_properties=True)

    assert parsed[INTENT] == BAD_INPUT
    assert parsed[INTENT_RANKING_KEY] == [BAD_INPUT]
    assert not parsed.get(ENTITIES)


def test_guard_sees_the_original_length_not_the_cut_text() -> None:
    # the normaliser cuts TEXT to MAX_MESSAGE_CHARS, so the guard must judge by RAW_TEXT
    msg = through_pipeline("x" * (MAX_MESSAGE_CHARS + 10))

    assert input_problem(msg.get(TEXT)) is None
    assert msg.get(INTENT) == BAD_INPUT


@pytest.mark.parametrize("problem", ["non_text", "too_long", "empty"])
def test_guard_uses_the_channel_problem_from_metadata(problem: str) -> None:
    msg = through_pipeline("", metadata={"input_problem": problem})

    assert msg.get(INTENT) == BAD_INPUT
    assert msg.get(ENTITIES) is None


def test_channel_problem_wins_over_readable_text() -> None:
    # the channel cut a 5000-character message; what is left still reads as words
    msg = through_pipeline("dang ky khai sinh", metadata={"input_problem": "too_long"})

    assert msg.get(INTENT) == BAD_INPUT


def test_message_without_text_is_bad_input() -> None:
    msg = guarded(message())

    assert msg.get(INTENT) == BAD_INPUT
    assert msg.get(ENTITIES) is None


@pytest.mark.parametrize("metadata", [None, {}, {"input_channel": "zalo"}, "not a dict"])
def test_guard_leaves_normal_text_alone(metadata: Any) -> None:
    classified = {"name": "ask_vneid_activate", "confidence": 0.87}
    msg = message("kích hoạt vneid thế nào", metadata)
    VietnameseNormalizer().process([msg])
    msg.set(INTENT, classified, add_to_output=True)

    guarded(msg)

    assert msg.get(INTENT) == classified
    assert msg.get(ENTITIES) is None


@pytest.mark.parametrize("payload", [CHOOSE_TOPIC, "/request_human"])
def test_guard_leaves_intent_payloads_alone(payload: str) -> None:
    msg = through_pipeline(payload)

    assert msg.get(INTENT) is None
    assert msg.get(ENTITIES) is None


def test_guard_handles_a_batch_independently() -> None:
    batch = [message("xin chào"), message("!!!"), message("")]
    VietnameseNormalizer().process(batch)

    InputGuard().process(batch)

    assert [intent_of(m) for m in batch] == [None, BAD_INPUT_INTENT, BAD_INPUT_INTENT]


@pytest.mark.parametrize("text", ["/", "//", "/?", "/😀", "/ !!!"])
def test_guard_marks_a_slash_followed_by_symbols_as_bad_input(text: str) -> None:
    # only well-formed '/intent{...}' payloads skip the guard; the model used to call these affirm
    msg = through_pipeline(text)

    assert msg.get(INTENT) == BAD_INPUT
    assert input_problem(text) == "no_text"


def test_normalizer_folds_a_question_that_merely_starts_with_a_slash() -> None:
    msg = normalised("/ làm cccd ở đâu")

    assert "can cuoc cong dan" in msg.get(TEXT)
    assert msg.get(RAW_TEXT) == "/ làm cccd ở đâu"


def test_guard_leaves_a_readable_question_that_starts_with_a_slash_to_the_classifier() -> None:
    classified = {"name": "ask_can_cuoc", "confidence": 0.9}
    msg = message("/ làm cccd ở đâu")
    VietnameseNormalizer().process([msg])
    msg.set(INTENT, classified, add_to_output=True)

    guarded(msg)

    assert msg.get(INTENT) == classified


def test_the_normaliser_fingerprint_follows_the_normalising_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    # Rasa's training cache keys a component on its config and inputs: without the rules in the key, a model trained
    # after common/text.py changed would reuse text normalised by the old rules
    import common.text

    before = VietnameseNormalizer.fingerprint_addon({})
    assert before == VietnameseNormalizer.fingerprint_addon({})
    monkeypatch.setattr("inspect.getsource", lambda module: "changed rules" if module is common.text else "")
    assert VietnameseNormalizer.fingerprint_addon({}) != before


def test_the_sentence_featurizer_is_rasas_without_per_token_rows(tmp_path: Any) -> None:
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE

    from rasa_addons import nlu
    from rasa_addons.speedups import fingerprint

    # the sentence half of the override is Rasa's own code: re-check it when Rasa's changes
    assert fingerprint(CountVectorsFeaturizer._create_features) == nlu.RASA_CREATE_FEATURES

    storage, context = LocalModelStorage(tmp_path), ExecutionContext(GraphSchema({}), "nlu-test")
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    training = TrainingData([Message.build(text=t, intent=i) for t, i in [
        ("kich hoat vneid", "activate"), ("quen mat khau vneid", "troubleshoot"), ("lam giay khai sinh", "birth")]])
    tokenizer.process_training_data(training)
    for options in ({"max_ngram": 2}, {"analyzer": "char_wb", "min_ngram": 2, "max_ngram": 5}):
        config = {**CountVectorsFeaturizer.get_default_config(), **options}
        theirs = CountVectorsFeaturizer.create(config, storage, Resource(f"rasa-{len(options)}"), context)
        ours = nlu.SentenceCountVectorsFeaturizer.create(config, storage, Resource(f"ours-{len(options)}"), context)
        theirs.train(training)
        ours.train(training)
        assert ours.vectorizers[TEXT].vocabulary_ == theirs.vectorizers[TEXT].vocabulary_

        texts = ["kich hoat tai khoan vneid the nao", "khai sinh", "xin chao"]
        a, b = [Message.build(text=t) for t in texts], [Message.build(text=t) for t in texts]
        tokenizer.process(a)
        tokenizer.process(b)
        theirs.process(a)
        ours.process(b)
        for rasa_message, our_message in zip(a, b, strict=True):
            assert not [f for f in our_message.features if f.type == FEATURE_TYPE_SEQUENCE]
            assert [f for f in rasa_message.features if f.type == FEATURE_TYPE_SEQUENCE]  # what is left out
            (rasa_sentence,) = [f for f in rasa_message.features if f.type == FEATURE_TYPE_SENTENCE]
            (our_sentence,) = [f for f in our_message.features if f.type == FEATURE_TYPE_SENTENCE]
            assert (rasa_sentence.attribute, rasa_sentence.is_sparse()) == (our_sentence.attribute, True)
            assert rasa_sentence.features.shape == our_sentence.features.shape
            assert (rasa_sentence.features != our_sentence.features).nnz == 0

        # training examples too: the intent attribute had sequence rows only, and now has none
        ours.process_training_data(training)
        assert all(f.type == FEATURE_TYPE_SENTENCE for m in training.training_examples for f in m.features
                   if f.origin == ours._identifier)


def test_a_sentence_row_is_the_vectorizer_s_sorted_coo_row() -> None:
    from sklearn.feature_extraction.text import CountVectorizer

    from rasa_addons.nlu import sentence_row

    corpus = ["kich hoat tai khoan vneid", "quen mat khau vneid", "lam giay khai sinh cho con", "xin chao ban"]
    texts = ["kich hoat vneid vneid vneid", "khai sinh cho con cho con", "", "zzz qqq", "xin chao", "a b c d e f g"]
    for options in ({"ngram_range": (1, 2)}, {"analyzer": "char_wb", "ngram_range": (2, 5)},
                    {"ngram_range": (1, 2), "binary": True}):
        vectorizer = CountVectorizer(**options).fit(corpus)  # type: ignore[arg-type]
        for text in texts:
            theirs = vectorizer.transform([text])
            theirs.sort_indices()
            theirs = theirs.tocoo()
            ours = sentence_row(vectorizer, text)
            assert ours.shape == theirs.shape
            for field in ("data", "row", "col"):
                assert getattr(ours, field).dtype == getattr(theirs, field).dtype
                assert getattr(ours, field).tolist() == getattr(theirs, field).tolist()


# --- PartQuestionGuard ----------------------------------------------------------------------------------------


def classified(text: str, ranking: list[tuple[str, float]]) -> Message:
    """A message through the normaliser, with the classifier's (and fallback's) ranking, then the part guard."""
    msg = message(text)
    VietnameseNormalizer().process([msg])
    entries = [{"name": name, "confidence": conf} for name, conf in ranking]
    msg.set(INTENT, entries[0])
    msg.set(INTENT_RANKING_KEY, entries)
    return PartQuestionGuard().process([msg])[0]


@pytest.mark.parametrize(("text", "ranking"), [
    ("có mất phí không", [("deny", 0.39), ("part_question", 0.25), ("ask_payment_online", 0.13)]),
    ("co mat phi ko", [("deny", 0.5), ("ask_payment_online", 0.2)]),
    ("xin ở đâu", [("affirm", 0.29), ("part_question", 0.14), ("greet", 0.11)]),
    ("chào, giấy tờ gì ạ", [("greet", 0.6), ("part_question", 0.2)]),
    ("trả bằng thẻ mất bao lâu", [("nav_menu", 0.6), ("ask_payment_online", 0.2)]),
    ("ảnh chuẩn bị ra sao", [("nlu_fallback", 0.25), ("part_question", 0.44), ("out_of_scope", 0.4)]),
])
def test_a_short_question_about_a_part_read_as_chat_is_a_part_question(text: str,
                                                                          ranking: list[tuple[str, float]]) -> None:
    msg = classified(text, ranking)
    assert intent_of(msg) == "part_question"
    names = [r["name"] for r in msg.get(INTENT_RANKING_KEY)]
    assert names[0] == "part_question" and names.count("part_question") == 1 and "nlu_fallback" not in names
    assert msg.get(INTENT)["confidence"] == max(conf for name, conf in ranking if name != "nlu_fallback")


@pytest.mark.parametrize(("text", "ranking"), [
    ("không", [("deny", 0.97)]),  # no part's shape
    ("có, tôi có rồi", [("affirm", 0.9)]),
    ("tiếp", [("nav_next", 0.99)]),
    ("cho tôi hỏi cái này thì phải làm ở đâu vậy ạ", [("affirm", 0.4)]),  # long enough to name its own topic
    ("hộ chiếu phí bao nhiêu", [("nlu_fallback", 0.25), ("ask_passport", 0.3), ("ask_can_cuoc", 0.25)]),
    ("làm ở đâu", [("other_service", 0.5), ("affirm", 0.3)]),  # the classifier's own reading is kept
    ('/choose_topic{"topic": "passport"}', [("choose_topic", 1.0)]),
])
def test_the_part_guard_leaves_other_messages_alone(text: str, ranking: list[tuple[str, float]]) -> None:
    assert intent_of(classified(text, ranking)) == ranking[0][0]
