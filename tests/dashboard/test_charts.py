"""SVG charts: accessible (role, title, description with every number), escaped, honest about missing data."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from dashboard.charts import Bar, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # also proves the markup is well-formed XML


def test_line_chart_is_an_accessible_image_with_its_numbers() -> None:
    svg = str(line_chart("Tỷ lệ hài lòng theo tháng", [("9/26", 88.0), ("10/26", None), ("11/26", 92.55)],
                         [95, 95, 95]))
    root = parse(svg)
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text == "Tỷ lệ hài lòng theo tháng"
    assert desc is not None and desc.text == "9/26: 88,0%; 10/26: chưa có đánh giá; 11/26: 92,5%; mục tiêu 95%"
    labelled = root.get("aria-labelledby", "").split()
    assert labelled == [title.get("id"), desc.get("id")]
    texts = "".join(root.itertext())
    assert "88,0%" in texts and "92,5%" in texts and "Mục tiêu" in texts
    # the missing month breaks the line: two one-point segments, no line through it
    assert len(root.findall(f"{SVG}polyline")) == 2
    assert len(root.findall(f"{SVG}circle")) == 2
    assert len(root.findall(f"{SVG}line[@class='target']")) == 3


def test_targets_follow_the_year() -> None:
    svg = str(line_chart("x", [("12/25", 91.0), ("1/26", 93.0)], [90, 95]))
    ys = [float(line.get("y1", 0)) for line in parse(svg).findall(f"{SVG}line[@class='target']")]
    assert ys[0] > ys[1]  # 95% is drawn higher than 90%
    assert "mục tiêu 90%, 95%" in svg


def test_labels_are_escaped() -> None:
    evil = '<script>alert("x")</script>'
    for svg in (str(line_chart(evil, [(evil, 50.0)])), str(bar_chart(evil, [Bar(evil, 10, evil)]))):
        assert "<script>" not in svg
        assert "&lt;script&gt;" in svg
        parse(svg)


def test_bar_chart_writes_values_and_target() -> None:
    bars = [Bar("Zalo", 94.0, "94,0% (50 đánh giá)", True), Bar("Trang web", 80.0, "80,0% (5 đánh giá)", False)]
    root = parse(str(bar_chart("Theo kênh", bars, 100, 95)))
    assert root.get("role") == "img"
    rects = root.findall(f"{SVG}rect")
    assert [r.get("class") for r in rects] == ["bar good", "bar below"]
    widths = [float(r.get("width", 0)) for r in rects]
    assert widths[0] / widths[1] == 94 / 80
    texts = "".join(root.itertext())
    assert "94,0% (50 đánh giá)" in texts and "Mục tiêu 95%" in texts
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text == "Zalo: 94,0% (50 đánh giá); Trang web: 80,0% (5 đánh giá); mục tiêu 95%"


def test_long_labels_are_shortened_but_kept_whole_in_a_tooltip() -> None:
    label = "Đăng ký thường trú, tạm trú và xác nhận cư trú trực tuyến"
    svg = str(bar_chart("x", [Bar(label, 1, "1")], label_width=120))
    assert f"<title>{label}</title>" in svg
    assert re.search(r"…</text>", svg)


def test_empty_charts_say_so() -> None:
    for svg in (str(line_chart("Xu hướng", [("1/26", None)], empty_message="Chưa có đánh giá nào")),
                str(bar_chart("Theo kênh", [], empty_message="Chưa có đánh giá nào"))):
        root = parse(svg)
        assert root.get("role") == "img" and "Chưa có đánh giá nào" in "".join(root.itertext())
