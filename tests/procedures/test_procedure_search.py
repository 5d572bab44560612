"""Finding procedures by residents' words, with and without diacritics."""

from __future__ import annotations

import pytest

from procedures.records import read_catalogue
from procedures.search import ProcedureIndex, display_name, query_terms, words


@pytest.fixture(scope="module")
def index() -> ProcedureIndex:
    return ProcedureIndex.load()


@pytest.mark.parametrize(("query", "code"), [
    ("khai báo tạm vắng", "1.003677"),
    ("khai bao tam vang", "1.003677"),
    ("tách hộ", "1.010038"),
    ("chứng thực di chúc", "2.001019"),
    ("hoa giai tranh chap dat dai", "1.012812"),
    ("đăng ký lại khai sinh", "1.004884"),
    ("đăng ký khai tử", "1.000656"),
])
def test_names_find_their_procedure(index: ProcedureIndex, query: str, code: str) -> None:
    assert index.search(query)[0].record.code == code


def test_question_words_do_not_count(index: ProcedureIndex) -> None:
    assert "bao lau" not in query_terms("khai báo tạm vắng mất bao lâu")
    assert index.search("khai báo tạm vắng mất bao lâu")[0].record.code == "1.003677"


def test_strength_is_a_share(index: ProcedureIndex) -> None:
    hits = index.search("chứng thực di chúc")
    assert 0.0 < hits[0].strength <= 1.0
    assert hits[0].score > hits[1].score


def test_nothing_matches_nonsense(index: ProcedureIndex) -> None:
    assert index.search("zzzz qqqq") == []


def test_aliases_are_searched(tmp_path) -> None:  # type: ignore[no-untyped-def]
    records = list(read_catalogue())
    aliases = tmp_path / "aliases.yml"
    aliases.write_text('"1.003677":\n  - đi làm ăn xa báo công an\n', encoding="utf-8")
    index = ProcedureIndex(records, {"1.003677": ["đi làm ăn xa báo công an"]})
    assert index.search("đi làm ăn xa thì báo công an thế nào")[0].record.code == "1.003677"


def test_display_names_drop_the_word_thu_tuc(index: ProcedureIndex) -> None:
    assert display_name(index.by_code["1.004884"]) == "Đăng ký lại khai sinh"


def every_record_scored(index: ProcedureIndex, query: str, top: int) -> list[tuple[str, float]]:
    """The search without its early stop: every record BM25 finds is scored and sorted."""
    query_words = words(query)
    hits = []
    for i, score in index.bm25.scores(query_terms(query)).items():
        name = index.phrases[i][0]
        name_cover = len(name & query_words) / len(name) if name else 0.0
        cover = index.coverage(i, query_words)
        hits.append((index.records[i], score * (0.5 + 0.4 * cover + 0.1 * name_cover)))
    hits.sort(key=lambda h: (-h[1], not h[0].commune_level, h[0].code))
    return [(r.code, s) for r, s in hits[:top]]


@pytest.mark.parametrize("query", [
    "đăng ký khai sinh", "dang ky tam tru online", "cấp bản sao trích lục hộ tịch", "xin giấy phép xây dựng nhà ở",
    "đăng ký", "giấy", "chứng thực chữ ký", "thủ tục đăng ký kinh doanh hộ gia đình", "cấp đổi giấy phép lái xe",
])
@pytest.mark.parametrize("top", [1, 5, 30])
def test_the_early_stop_gives_the_list_scoring_every_record_gives(index: ProcedureIndex, query: str,
                                                                    top: int) -> None:
    assert [(h.record.code, h.score) for h in index.search(query, top)] == every_record_scored(index, query, top)
