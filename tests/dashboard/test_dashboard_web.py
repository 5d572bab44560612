"""The web app against a real Redis (db 11): every staff route protected, CSRF on every POST, login limits,
acknowledgements reaching the public page, escaping, exports."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import datetime

import openpyxl
import pytest
import redis
from dashboard_support import PASSWORD, SECRET, comment, csrf_of, rating
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from actions.feedback_store import FeedbackStore
from dashboard.app import SESSION_COOKIE, create_app
from dashboard.auth import Accounts
from dashboard.metrics import ICT
from dashboard.settings import DashboardSettings

pytestmark = pytest.mark.integration

PUBLIC = {"/login", "/public", "/healthz"}
SECRET_COMMENT = "Bí mật nội bộ: hồ sơ số 42 của ông Ba"
XSS = '<script>alert("xss")</script> chữ nhỏ quá'


@pytest.fixture
def seeded(redis13: redis.Redis) -> dict[str, str]:
    """A staff account, three ratings and two comments this month."""
    Accounts(redis13).add("canbo", PASSWORD)
    store = FeedbackStore(redis13)
    now = time.time()
    ids = {
        "happy": store.add(rating(now - 300)),
        "meh": store.add(rating(now - 200, "binh_thuong", channel="web")),
        "secret": store.add(comment(now - 100), SECRET_COMMENT),
        "xss": store.add(comment(now - 50, channel="zalo"), XSS),
    }
    return ids


@pytest.fixture
def app(redis13: redis.Redis, tmp_path: object) -> object:
    return create_app(DashboardSettings(secret_key=SECRET, commune_name="Xã Ví Dụ"), redis13)


@pytest.fixture
def client(app: object) -> Iterator[TestClient]:
    with TestClient(app) as c:  # type: ignore[arg-type]
        yield c


def login(client: TestClient, username: str = "canbo", password: str = PASSWORD, next: str = "/") -> object:
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": next}, follow_redirects=False)


def staff_routes(app: object) -> list[APIRoute]:
    return [r for r in app.routes if isinstance(r, APIRoute) and r.path not in PUBLIC]  # type: ignore[attr-defined]


def test_every_staff_page_redirects_to_login_without_data(app: object, client: TestClient,
                                                          seeded: dict[str, str]) -> None:
    routes = staff_routes(app)
    assert {r.path for r in routes} >= {"/", "/feedback", "/gaps", "/funnel", "/reports", "/export",
                                        "/feedback/{entry_id}/ack", "/logout"}
    for route in routes:
        path = route.path.replace("{entry_id}", seeded["secret"])
        for method in route.methods:
            response = client.request(method, path, follow_redirects=False)
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/login?next=")
            assert SECRET_COMMENT not in response.text and "canbo" not in response.text
    # and nothing was acknowledged by the anonymous POST
    assert client.get("/public").text.count("Đã tiếp nhận") == 0


def test_login_then_the_overview(client: TestClient, seeded: dict[str, str]) -> None:
    response = login(client, next="/feedback?ack=no")
    assert response.status_code == 303 and response.headers["location"] == "/feedback?ack=no"
    cookie = response.headers["set-cookie"]
    assert f"{SESSION_COOKIE}=" in cookie and "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    page = client.get("/")
    assert page.status_code == 200
    assert "Tổng quan tháng" in page.text and "50,0%" in page.text  # 1 "Hài lòng" of 2 ratings
    assert 'role="img"' in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_wrong_password_and_lockout(client: TestClient, seeded: dict[str, str]) -> None:
    for _ in range(4):
        response = login(client, password="sai-mat-khau")
        assert response.status_code == 401 and "không đúng" in response.text
    response = login(client, password="sai-mat-khau")
    assert response.status_code == 429 and "15 phút" in response.text
    assert login(client).status_code == 429  # locked even with the right password
    assert client.get("/", follow_redirects=False).status_code == 303


def test_login_refuses_to_redirect_elsewhere(client: TestClient, seeded: dict[str, str]) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "\\\\evil"):
        assert login(client, next=target).headers["location"] == "/"
        client.cookies.clear()


def test_every_post_needs_the_csrf_token(app: object, client: TestClient, seeded: dict[str, str]) -> None:
    login(client)
    posts = [r for r in app.routes if isinstance(r, APIRoute) and "POST" in r.methods]  # type: ignore[attr-defined]
    assert {r.path for r in posts} == {"/login", "/logout", "/feedback/{entry_id}/ack"}
    for route in posts:
        path = route.path.replace("{entry_id}", seeded["secret"])
        for token in (None, "forged-token-0123456789abcdefghijklmnop"):
            data = {"status": "acted", "reply": "x", "username": "canbo", "password": PASSWORD}
            if token:
                data["csrf_token"] = token
            response = client.post(path, data=data, follow_redirects=False)
            assert response.status_code == 403, path
    assert "Đã xử lý" not in client.get("/public").text


def test_acknowledge_and_see_it_on_the_public_page(client: TestClient, seeded: dict[str, str],
                                                   redis13: redis.Redis) -> None:
    public = client.get("/public").text
    assert "Hiện còn <strong>2</strong> góp ý đang chờ" in public
    login(client)
    page = client.get("/feedback?ack=no")
    token = csrf_of(page.text)
    entry = seeded["secret"]
    response = client.post(f"/feedback/{entry}/ack", data={
        "csrf_token": token, "status": "acted", "reply": "Xã đã <b>liên hệ</b> lại ông.", "back": "/feedback?ack=no"},
        follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/feedback?ack=no#fb-{entry}"
    assert "Đã lưu: Đã xử lý" in client.get(response.headers["location"]).text
    assert redis13.hgetall(f"feedback:ack:{entry}")["by"] == "canbo"
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)})
    public = client.get("/public").text
    assert "Xã đã &lt;b&gt;liên hệ&lt;/b&gt; lại ông." in public and "<b>liên hệ" not in public
    assert SECRET_COMMENT in public and "Đã xử lý" in public
    assert "Hiện còn <strong>1</strong> góp ý đang chờ" in public
    assert "canbo" not in public  # staff names are not published


def test_acting_needs_a_reply_and_unknown_items_are_refused(client: TestClient, seeded: dict[str, str]) -> None:
    login(client)
    token = csrf_of(client.get("/feedback").text)
    response = client.post(f"/feedback/{seeded['xss']}/ack", data={"csrf_token": token, "status": "acted",
                                                                   "reply": " "})
    assert "vui lòng viết vài dòng trả lời" in response.text
    response = client.post("/feedback/1-0/ack", data={"csrf_token": token, "status": "received", "reply": ""})
    assert "Không tìm thấy phản hồi này" in response.text
    response = client.post(f"/feedback/{seeded['xss']}/ack", data={"csrf_token": token, "status": "deleted"})
    assert "Yêu cầu không hợp lệ" in response.text


def test_comments_are_shown_as_text(client: TestClient, seeded: dict[str, str]) -> None:
    login(client)
    page = client.get("/feedback").text
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt; chữ nhỏ quá" in page


@pytest.mark.parametrize(("query", "shown", "hidden"), [
    ("rating=binh_thuong", ["Bình thường"], [SECRET_COMMENT]),
    ("channel=zalo&rating=none", ["chữ nhỏ quá"], [SECRET_COMMENT]),
    ("q=ho+so+so+42", [SECRET_COMMENT], ["chữ nhỏ quá"]),
    ("ack=yes", ["Không có phản hồi nào khớp bộ lọc"], [SECRET_COMMENT]),
])
def test_feedback_filters(client: TestClient, seeded: dict[str, str], query: str, shown: list[str],
                          hidden: list[str]) -> None:
    login(client)
    page = client.get(f"/feedback?{query}").text
    assert all(s in page for s in shown) and not any(h in page for h in hidden)


def test_exports(client: TestClient, seeded: dict[str, str]) -> None:
    login(client)
    month = datetime.now(ICT).strftime("%Y-%m")
    response = client.get(f"/export?period={month}&format=xlsx&token=abcdefgh12")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="bao-cao-{month}.xlsx"'
    assert "dashboard_download=abcdefgh12" in response.headers["set-cookie"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    figures = {row[0]: row[1] for row in book["Tổng hợp"].iter_rows(min_row=2, values_only=True)}
    assert figures["Số đánh giá"] == 2 and figures["Tỷ lệ hài lòng (%)"] == 50.0 and figures["Xã"] == "Xã Ví Dụ"
    csv_body = client.get(f"/export?period={month}&format=csv").content.decode("utf-8-sig")
    assert "Tỷ lệ hài lòng (%),50.0" in csv_body and SECRET_COMMENT in csv_body
    bad = client.get("/export?period=2026-13", follow_redirects=False)
    assert bad.status_code == 303 and bad.headers["location"] == "/reports"


def test_a_deleted_account_loses_its_session(client: TestClient, seeded: dict[str, str],
                                             redis13: redis.Redis) -> None:
    login(client)
    assert client.get("/", follow_redirects=False).status_code == 200
    Accounts(redis13).remove("canbo")
    assert client.get("/", follow_redirects=False).status_code == 303


def test_empty_states_say_what_to_do(client: TestClient, redis13: redis.Redis) -> None:
    Accounts(redis13).add("canbo", PASSWORD)
    login(client)
    for path in ("/", "/feedback", "/gaps", "/funnel"):
        assert "make demo-data" in client.get(path).text, path


def test_health_and_unknown_pages(client: TestClient, redis13: redis.Redis) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/khong-co").status_code == 404


def test_redis_down_is_a_polite_error(tmp_path: object) -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, decode_responses=True, socket_connect_timeout=0.2)
    with TestClient(create_app(DashboardSettings(secret_key=SECRET), dead)) as c:
        response = c.get("/public")
        assert response.status_code == 503 and "không kết nối được cơ sở dữ liệu" in response.text
        assert c.get("/healthz").status_code == 503
