"""The web widget in headless Debian Chromium (Playwright drives /usr/bin/chromium; no browser is downloaded).

The web app runs on a free loopback port in the test's event loop, against a fake Rasa and the real Redis (db 10).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from bot.handoff import Bus
from bot.settings import CommonSettings
from bot.web.app import create_app
from bot.web.settings import WebSettings
from tests.auxil.fake_rasa import FakeRasa, echo
from tests.bot.conftest import GATEWAY_REDIS_URL

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUSY = "Hệ thống đang bận, vui lòng thử lại sau ít phút."
HOSTILE = "Thử: <script>alert(1)</script><img src=x onerror=alert(2)> <a href=javascript:alert(3)>bấm</a>"


def script(sender: str, text: str) -> list[dict[str, Any]]:
    """The fake assistant: the default echo, plus an answer with a source link and one with hostile markup."""
    if text == "/topic_a":
        return [
            {
                "text": "Anh/chị mang CCCD gắn chip tới công an xã để kích hoạt VNeID mức 2.\n\n"
                "Nguồn: https://vneid.gov.vn (cập nhật 22/11/2026)",
                "buttons": [{"title": "Gặp người hỗ trợ", "payload": "/request_human"}],
                "custom": {"kind": "answer", "source_url": "https://vneid.gov.vn"},
            }
        ]
    if "mã độc" in text:
        return [{"text": HOSTILE, "custom": {"kind": "answer"}}]
    return echo(sender, text)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        await chromium.close()


@pytest.fixture
async def site(aredis: aioredis.Redis) -> AsyncIterator[SimpleNamespace]:
    """The demo page with the widget, served on 127.0.0.1 by the real web app."""
    async with FakeRasa(script) as rasa:
        common = CommonSettings(rasa_url=rasa.url, redis_url=GATEWAY_REDIS_URL, host="127.0.0.1", rasa_timeout_s=5.0,
                                feedback_id_key="test-pseudonym-key-0123456789abcdef")
        server = TestServer(create_app(WebSettings(common=common), aredis), host="127.0.0.1")
        await server.start_server()
        try:
            yield SimpleNamespace(url=str(server.make_url("/")), rasa=rasa)
        finally:
            await server.close()


async def open_widget(browser: Any, site: SimpleNamespace, **context: Any) -> tuple[Any, list[str]]:
    """A fresh page on the demo site, the widget opened with the keyboard; also returns any alert() seen."""
    page = await (await browser.new_context(**context)).new_page()
    dialogs: list[str] = []

    async def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    await page.goto(site.url)
    launcher = page.get_by_role("button", name="Hỏi trợ lý dịch vụ công")
    await launcher.focus()
    await page.keyboard.press("Enter")
    return page, dialogs


async def test_a_resident_types_a_question_and_taps_a_button(browser: Any, site: SimpleNamespace) -> None:
    from playwright.async_api import expect

    page, dialogs = await open_widget(browser, site)
    box = page.get_by_role("textbox", name="Nhập câu hỏi của anh/chị")
    await expect(box).to_be_focused()
    log = page.get_by_role("log")
    await expect(log).to_have_attribute("aria-live", "polite")

    await page.keyboard.type("Làm sao kích hoạt VNeID mức 2?")
    await page.keyboard.press("Enter")
    await expect(log).to_contain_text("Trả lời: Làm sao kích hoạt VNeID mức 2?")
    await expect(box).to_have_value("")
    await expect(box).to_be_focused()
    assert site.rasa.received[-1]["message"] == "Làm sao kích hoạt VNeID mức 2?"
    assert site.rasa.received[-1]["sender"].startswith("web:")

    await page.keyboard.type("menu")
    await page.keyboard.press("Enter")
    choice = page.get_by_role("button", name="Kích hoạt VNeID")
    await expect(choice).to_be_enabled()
    await choice.click()
    # the resident's bubble shows the title; Rasa gets the payload
    await expect(log.locator(".msg.user").last).to_contain_text("Kích hoạt VNeID")
    await expect(log).to_contain_text("công an xã để kích hoạt VNeID mức 2")
    assert site.rasa.received[-1]["message"] == "/topic_a"
    assert "/topic_a" not in (await log.text_content() or "")
    await expect(choice).to_be_disabled()  # old choices cannot be tapped again by mistake
    await expect(box).to_be_focused()
    source = log.get_by_role("link", name="https://vneid.gov.vn")
    await expect(source).to_have_attribute("href", "https://vneid.gov.vn/")
    await expect(source).to_have_attribute("rel", "noopener noreferrer")

    # markup in a reply stays text: nothing runs, no element is created from it
    await box.fill("cho xem mã độc")
    await page.keyboard.press("Enter")
    await expect(log).to_contain_text("<script>alert(1)</script><img src=x onerror=alert(2)>")
    created = await page.evaluate(
        "() => document.getElementById('tro-ly-dvc-widget').shadowRoot"
        ".querySelectorAll('.log script, .log img, .log a[href^=\"javascript\"]').length"
    )
    assert created == 0
    assert await page.locator("script").count() == 1  # only the embed tag itself
    await page.wait_for_timeout(300)
    assert dialogs == []

    # Escape closes the panel and gives the focus back to the launcher
    await box.focus()
    await page.keyboard.press("Escape")
    launcher = page.get_by_role("button", name="Hỏi trợ lý dịch vụ công")
    await expect(launcher).to_be_focused()
    await expect(launcher).to_have_attribute("aria-expanded", "false")


async def test_a_network_error_says_busy_and_keeps_the_typed_text(browser: Any, site: SimpleNamespace) -> None:
    from playwright.async_api import expect

    page, _ = await open_widget(browser, site)
    await page.route("**/api/chat", lambda route: route.abort())
    box = page.get_by_role("textbox", name="Nhập câu hỏi của anh/chị")
    await box.fill("Làm căn cước cho con ở đâu?")
    await page.keyboard.press("Enter")
    log = page.get_by_role("log")
    await expect(log).to_contain_text(BUSY)
    await expect(box).to_have_value("Làm căn cước cho con ở đâu?")
    await expect(log.locator(".msg.user").last).to_contain_text("Chưa gửi được")

    await page.unroute("**/api/chat")
    await box.focus()
    await page.keyboard.press("Enter")
    await expect(log).to_contain_text("Trả lời: Làm căn cước cho con ở đâu?")
    assert [r["message"] for r in site.rasa.received] == ["Làm căn cước cho con ở đâu?"]


async def test_on_a_small_phone_the_widget_fits_and_a_volunteer_reply_arrives(
    browser: Any, site: SimpleNamespace, aredis: aioredis.Redis
) -> None:
    from playwright.async_api import expect

    page, _ = await open_widget(browser, site, viewport={"width": 320, "height": 568}, has_touch=True)
    box = page.get_by_role("textbox", name="Nhập câu hỏi của anh/chị")
    await expect(box).to_be_focused()
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 320
    for locator in (box, page.get_by_role("button", name="Gửi", exact=True)):
        shape = await locator.bounding_box()
        assert shape and shape["x"] >= 0 and shape["x"] + shape["width"] <= 320
        assert shape["height"] >= 44  # big enough to tap
    font = await box.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert font >= 16

    # Shift+Enter is a new line, not a send
    await page.keyboard.type("dòng một")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("dòng hai")
    await expect(box).to_have_value("dòng một\ndòng hai")
    assert site.rasa.received == []
    await page.keyboard.press("Enter")
    log = page.get_by_role("log")
    await expect(log).to_contain_text("Trả lời: dòng một\ndòng hai")

    # a volunteer's words come through the outbox and the widget's polling
    sender = site.rasa.received[-1]["sender"]
    await Bus(aredis).to_resident(sender, "text", "Chào bác, cháu là Lan ở xã, cháu giúp bác nhé.")
    await expect(log).to_contain_text("Chào bác, cháu là Lan ở xã", timeout=12_000)
    await expect(log.locator(".msg.volunteer")).to_contain_text("Người hỗ trợ")

    # moving to another page of the commune site keeps the conversation and the same sender id
    await page.reload()
    await expect(page.get_by_role("log")).to_contain_text("Chào bác, cháu là Lan ở xã")
    await page.get_by_role("textbox", name="Nhập câu hỏi của anh/chị").fill("cảm ơn")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("log")).to_contain_text("Trả lời: cảm ơn")
    assert site.rasa.received[-1]["sender"] == sender


async def test_a_lost_answer_is_fetched_again_with_the_same_message_id_and_shown_once(
    browser: Any, site: SimpleNamespace
) -> None:
    from playwright.async_api import expect

    page, _ = await open_widget(browser, site)
    calls = 0

    async def lose_the_first_answer(route: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await route.fetch()  # the server got the message and answered…
            await route.abort()  # …but the answer never reached the browser
        else:
            await route.continue_()

    await page.route("**/api/chat", lose_the_first_answer)
    await page.get_by_role("textbox", name="Nhập câu hỏi của anh/chị").fill("Đổi căn cước ở đâu?")
    await page.keyboard.press("Enter")
    log = page.get_by_role("log")
    await expect(log).to_contain_text("Trả lời: Đổi căn cước ở đâu?")
    await page.wait_for_timeout(500)

    assert calls == 2
    first, again = site.rasa.received
    assert first["message_id"] == again["message_id"]  # Rasa answers a repeated id from the conversation
    assert await log.locator(".msg.bot", has_text="Trả lời: Đổi căn cước ở đâu?").count() == 1
    assert "Chưa gửi được" not in (await log.text_content() or "")
