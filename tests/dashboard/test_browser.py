"""The dashboard in a real browser (the system's Chromium through Playwright) against a real Redis (db 11)."""

from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
import redis
import uvicorn
from dashboard_support import PASSWORD, SECRET, comment, rating
from playwright.sync_api import Page, sync_playwright

from actions.feedback_store import FeedbackStore
from dashboard.app import create_app
from dashboard.auth import Accounts
from dashboard.metrics import ICT
from dashboard.settings import DashboardSettings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
XSS = '<script>alert("xss")</script> Chữ trong ảnh nhỏ quá'

pytestmark = pytest.mark.integration

if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); CI=true makes this a failure",
                allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(dashboard_redis: redis.Redis) -> Iterator[str]:
    """The dashboard served by uvicorn on a free loopback port, with a staff account and some feedback."""
    assert Path(CHROMIUM).exists() or shutil.which("chromium"), f"{CHROMIUM} is missing (CI needs it)"
    Accounts(dashboard_redis).add("canbo", PASSWORD)
    store = FeedbackStore(dashboard_redis)
    now = time.time()
    for i, value in enumerate(["hai_long", "hai_long", "hai_long", "binh_thuong"]):
        store.add(rating(now - 600 + i, value))
    store.add(comment(now - 300, channel="telegram"), "Cán bộ hỗ trợ qua Telegram rất nhiệt tình")
    store.add(comment(now - 200, channel="zalo"), XSS)
    port = free_port()
    config = uvicorn.Config(create_app(DashboardSettings(secret_key=SECRET), dashboard_redis), host="127.0.0.1", port=port,
                            log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if uv.started:
            break
        time.sleep(0.05)
    assert uv.started, "the dashboard did not start"
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(10)


@pytest.fixture
def dialogs() -> list[str]:
    """Messages of any JavaScript dialog the pages open (an injected alert() would land here)."""
    return []


@pytest.fixture
def page(server: str, dialogs: list[str]) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(accept_downloads=True, locale="vi-VN")
        pg = context.new_page()
        pg.set_default_timeout(10_000)
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        yield pg
        browser.close()


def test_a_staff_member_works_through_the_dashboard(server: str, page: Page, dialogs: list[str]) -> None:
    pg = page
    # not logged in: a staff page sends the browser to the login form, with no staff data
    pg.goto(f"{server}/feedback")
    assert "/login" in pg.url
    assert "nhiệt tình" not in pg.content()

    pg.fill("#username", "canbo")
    pg.fill("#password", PASSWORD)
    pg.click("button.primary")
    pg.wait_for_url(f"{server}/feedback")

    # the overview: an accessible chart and the satisfaction rate as text
    pg.goto(f"{server}/")
    charts = pg.locator("svg[role=img]")
    assert charts.count() >= 5
    assert charts.first.get_attribute("aria-labelledby")
    assert "75,0%" in pg.locator(".kpi").first.inner_text()

    # filter the feedback: Zalo comments only
    pg.goto(f"{server}/feedback")
    pg.select_option("#f-channel", "zalo")
    pg.select_option("#f-rating", "none")
    pg.click(".filters button[type=submit]")
    items = pg.locator("li.feedback")
    assert items.count() == 1
    # the <script> in the comment is shown as text and never runs
    assert XSS in items.first.locator("blockquote").inner_text()
    assert dialogs == []

    # acknowledge it with a public reply
    item = items.first
    item.locator("input[value=acted]").check()
    item.locator("textarea").fill("Xã đã làm lại ảnh hướng dẫn với chữ to hơn.")
    item.locator("form button[type=submit]").click()
    assert "Đã lưu: Đã xử lý" in pg.locator(".flash").first.inner_text()
    assert "channel=zalo" in pg.url  # the filters are kept

    # …and it is on the public page, which needs no login
    pg.goto(f"{server}/public")
    public = pg.locator("main").inner_text()
    assert "Xã đã làm lại ảnh hướng dẫn với chữ to hơn." in public and XSS in public
    assert "Hiện còn 1 góp ý đang chờ cán bộ tiếp nhận." in public
    assert dialogs == []

    # download this month's report as XLSX, with a progress indicator while it is made
    pg.goto(f"{server}/reports")
    month = datetime.now(ICT).strftime("%Y-%m")
    pg.select_option("#period", month)
    with pg.expect_download() as info:
        pg.click("#export-button")
    download = info.value
    assert download.suggested_filename == f"bao-cao-{month}.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    figures = {row[0]: row[1] for row in book["Tổng hợp"].iter_rows(min_row=2, values_only=True)}
    assert figures["Tỷ lệ hài lòng (%)"] == 75.0 and figures["Số đánh giá"] == 4
    # the spinner goes away once the file has arrived
    pg.locator("#export-progress").wait_for(state="hidden")

    # logging out ends the session
    pg.goto(f"{server}/")
    pg.click("form.logout button")
    pg.goto(f"{server}/gaps")
    assert "/login" in pg.url


def test_the_spinner_shows_while_the_report_is_made(server: str, page: Page) -> None:
    pg = page
    pg.goto(f"{server}/login")
    pg.fill("#username", "canbo")
    pg.fill("#password", PASSWORD)
    pg.click("button.primary")
    pg.goto(f"{server}/reports")
    assert pg.locator("#export-progress").is_hidden()
    # hold the response back so the indicator can be seen
    pg.route("**/export*", lambda route: (time.sleep(1.0), route.continue_()))
    with pg.expect_download():
        pg.click("#export-button")
        pg.locator("#export-progress").wait_for(state="visible")
        assert "Đang lập báo cáo" in pg.locator("#export-progress").inner_text()
    pg.locator("#export-progress").wait_for(state="hidden")
