"""Commune details (common/communes.py; the deployment's own in actions/services.py): loading and checking communes/<id>.yml, and picking office lines."""

from __future__ import annotations

import copy
import dataclasses
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.services import get_commune
from actions.settings import Settings, SettingsError
from common.communes import COMMUNES_DIR, Commune, Office, load_commune

EXAMPLE = COMMUNES_DIR / "vi-du.yml"
KEYS = ("id", "name", "centre", "police", "hotlines", "zalo_oa")
OFFICE_KEYS = ("name", "address", "hours", "phone")


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    return yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))


def write(directory: Path, data: Any, name: str = "xa-thu.yml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def changed(example: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The example file's data with some keys changed; a change set to None removes the key."""
    data = copy.deepcopy(example)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


# --- the example file ----------------------------------------------------------------------------------------


def test_example_file_loads() -> None:
    commune = load_commune(EXAMPLE)
    assert (commune.id, commune.name) == ("vi-du", "Xã Ví Dụ")
    assert commune.police == Office(
        "Công an xã Ví Dụ", "Số 3 đường Trung Tâm, xã Ví Dụ", "Thứ 2 – Thứ 6: 7h30–17h00", "0200 000 0001"
    )
    assert commune.centre.name == "Trung tâm phục vụ hành chính công xã Ví Dụ"
    assert commune.centre.phone == "0200 000 0000"
    assert commune.hotlines[0] == ("Tổng đài VNeID, căn cước (Bộ Công an)", "1900 0368")
    assert len(commune.hotlines) == 3
    assert commune.zalo_oa == "Zalo OA: Xã Ví Dụ (ví dụ)"


def test_example_file_id_is_its_file_name() -> None:
    assert load_commune(EXAMPLE).id == EXAMPLE.stem


@pytest.mark.parametrize("path", sorted(COMMUNES_DIR.glob("*.yml")), ids=lambda p: p.stem)
def test_every_commune_file_loads(path: Path) -> None:
    commune = load_commune(path)
    assert commune.id == path.stem
    assert all(value for office in (commune.centre, commune.police) for value in dataclasses.astuple(office))


def test_office_line() -> None:
    office = Office("Công an xã A", "Số 1", "7h–17h", "0200 1")
    assert office.line() == "📍 Công an xã A: Số 1. Giờ làm việc: 7h–17h. Điện thoại: 0200 1."


def test_unquoted_numbers_fail_fast(tmp_path: Path, example: dict[str, Any]) -> None:
    # YAML reads 0200 000 0000 unquoted as a number and drops the leading 0: refuse rather than show a wrong phone
    data = dict(example)
    data["police"] = {**example["police"], "phone": 113}
    with pytest.raises(SettingsError, match="write phone numbers in quotes"):
        load_commune(write(tmp_path, data))


# --- broken files fail fast with a clear message -------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "no-such-commune.yml"
    with pytest.raises(SettingsError, match=r"commune file .*no-such-commune\.yml not found \(COMMUNE_ID picks"):
        load_commune(path)


def test_a_directory_is_not_a_commune_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_commune(tmp_path)


@pytest.mark.parametrize("key", KEYS)
def test_missing_key(tmp_path: Path, example: dict[str, Any], key: str) -> None:
    with pytest.raises(SettingsError, match=f"^commune file xa-thu.yml: missing {key}$"):
        load_commune(write(tmp_path, changed(example, **{key: None})))


@pytest.mark.parametrize(
    ("key", "empty"), [("id", ""), ("name", ""), ("hotlines", []), ("centre", {}), ("zalo_oa", "")]
)
def test_empty_value_counts_as_missing(tmp_path: Path, example: dict[str, Any], key: str, empty: Any) -> None:
    with pytest.raises(SettingsError, match=f"missing {key}$"):
        load_commune(write(tmp_path, changed(example, **{key: empty})))


def test_every_missing_key_is_named(tmp_path: Path, example: dict[str, Any]) -> None:
    with pytest.raises(SettingsError, match="missing name, police, zalo_oa$"):
        load_commune(write(tmp_path, changed(example, name=None, police=None, zalo_oa=None)))


def test_empty_file_is_missing_everything(tmp_path: Path) -> None:
    path = tmp_path / "xa-trong.yml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=f"missing {', '.join(KEYS)}$"):
        load_commune(path)


@pytest.mark.parametrize("office", ["centre", "police"])
@pytest.mark.parametrize("key", OFFICE_KEYS)
def test_office_missing_a_field(tmp_path: Path, example: dict[str, Any], office: str, key: str) -> None:
    data = changed(example)
    del data[office][key]
    with pytest.raises(SettingsError, match=f"commune file: '{office}' needs name, address, hours and phone"):
        load_commune(write(tmp_path, data))


@pytest.mark.parametrize("value", ["Công an xã", ["Công an xã", "Số 3"]], ids=["text", "list"])
def test_office_that_is_not_a_mapping(tmp_path: Path, example: dict[str, Any], value: Any) -> None:
    with pytest.raises(SettingsError, match="'police' needs name, address, hours and phone"):
        load_commune(write(tmp_path, changed(example, police=value)))


@pytest.mark.parametrize(
    "text_or_change",
    [
        {"hotlines": [{"name": "Tổng đài VNeID"}]},  # a hotline without its phone
        {"hotlines": ["1900 0368"]},  # a hotline written as a bare number
        "- id: xa-thu\n- name: Xã Thử\n",  # a list, not a mapping
        "id: xa-thu\nname: [Xã Thử\n",  # broken YAML
    ],
    ids=["hotline-without-phone", "hotline-as-text", "list-file", "broken-yaml"],
)
def test_other_broken_files_fail_with_a_settings_error(
    tmp_path: Path, example: dict[str, Any], text_or_change: Any
) -> None:
    if isinstance(text_or_change, str):
        path = tmp_path / "xa-thu.yml"
        path.write_text(text_or_change, encoding="utf-8")
    else:
        path = write(tmp_path, changed(example, **text_or_change))
    with pytest.raises(SettingsError, match="xa-thu.yml"):
        load_commune(path)


# --- get_commune reads COMMUNE_ID ----------------------------------------------------------------------------


@pytest.fixture
def fresh_commune_cache() -> Iterator[None]:
    get_commune.cache_clear()
    yield
    get_commune.cache_clear()


def settings_with(commune_id: str) -> Settings:
    return Settings(
        knowledge_dir=Path("."),
        index_dir=Path("."),
        embedding_backend="none",
        embedding_model="",
        torch_threads=1,
        answer_threshold=0.45,
        clarify_margin=0.06,
        commune_id=commune_id,
        redis_url="memory://",
    )


@pytest.mark.usefixtures("fresh_commune_cache")
def test_get_commune_loads_the_configured_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("actions.settings.get_settings", lambda: settings_with("vi-du"))
    assert get_commune() == load_commune(EXAMPLE)
    assert get_commune() is get_commune()  # read once


@pytest.mark.usefixtures("fresh_commune_cache")
def test_get_commune_picks_the_file_by_id(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, example: dict[str, Any]
) -> None:
    write(tmp_path, changed(example, id="xa-thu", name="Xã Thử"))
    monkeypatch.setattr("actions.services.COMMUNES_DIR", tmp_path)
    monkeypatch.setattr("actions.settings.get_settings", lambda: settings_with("xa-thu"))
    assert get_commune().name == "Xã Thử"


@pytest.mark.usefixtures("fresh_commune_cache")
def test_get_commune_with_an_unknown_id_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("actions.settings.get_settings", lambda: settings_with("xa-khong-co"))
    with pytest.raises(SettingsError, match=r"xa-khong-co\.yml not found \(COMMUNE_ID picks communes/<id>\.yml\)"):
        get_commune()


# --- local_details -------------------------------------------------------------------------------------------

POLICE, CENTRE = "police", "centre"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mang thẻ căn cước đến Công an xã nơi anh/chị ở.", [POLICE]),
        ("Đến công an phường gần nhất.", [POLICE]),
        ("ĐẾN CÔNG AN XÃ.", [POLICE]),
        ("Hỏi Công an cấp xã.", [POLICE]),
        ("Gọi Công an xã/phường trước.", [POLICE]),
        (unicodedata.normalize("NFD", "Đến Công an xã."), [POLICE]),
        ("Nộp tại UBND xã/phường.", [CENTRE]),
        ("Đến Ủy ban nhân dân xã.", [CENTRE]),
        ("Hỏi bộ phận một cửa.", [CENTRE]),
        ("Đến Trung tâm phục vụ hành chính công xã.", [CENTRE]),
        ("Liên hệ UBND cấp xã.", [CENTRE]),
        # police first, then the centre, whatever order the step names them in
        ("Đến UBND xã hoặc Công an xã.", [POLICE, CENTRE]),
        ("Mở ứng dụng VNeID trên điện thoại.", []),
        ("Gọi 1900 0368 (Bộ Công an), bấm phím 4.", []),
        ("Hộ chiếu làm tại Công an tỉnh.", []),
        ("", []),
    ],
)
def test_local_details_pick_the_office_lines(text: str, expected: list[str]) -> None:
    commune = load_commune(EXAMPLE)
    lines = {POLICE: commune.police.line(), CENTRE: commune.centre.line()}
    assert commune.local_details(text) == "\n".join(lines[k] for k in expected)


@pytest.mark.parametrize("text", ["Chờ công an xác minh thông tin.", "Chờ UBND xác nhận hồ sơ."])
def test_local_details_match_whole_words(text: str) -> None:
    assert load_commune(EXAMPLE).local_details(text) == ""


def test_commune_is_immutable() -> None:
    commune: Commune = load_commune(EXAMPLE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        commune.name = "x"  # type: ignore[misc]


def test_local_fees_are_read_and_checked(tmp_path: Path) -> None:
    base = EXAMPLE.read_text(encoding="utf-8")
    good = tmp_path / "good.yml"
    good.write_text(base + '\nfees:\n  "1.004873": "8.000 đồng"\n', encoding="utf-8")
    assert load_commune(good).fees == {"1.004873": "8.000 đồng"}
    bad = tmp_path / "bad.yml"
    bad.write_text(base + '\nfees:\n  "1.004873": 8000\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="fees must map"):
        load_commune(bad)
