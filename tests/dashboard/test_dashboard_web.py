"""The web app against a real Redis (db 11): every staff route protected, sessions revoked server-side, CSRF on every
POST, login limits, acknowledgements reaching the public page, escaping, exports."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
import redis
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from dashboard_support import PASSWORD, SECRET, TEST_REDIS_URL, comment, csrf_of, rating
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from actions.feedback_store import FeedbackStore
from dashboard.app import SESSION_COOKIE, create_app
from dashboard.auth import USER_KEY, Accounts
from dashboard.metrics import ICT
from dashboard.settings import DashboardSettings

pytestmark = pytest.mark.integration

PUBLIC = {"/login", "/public", "/healthz", "/metrics"}
ROOT = Path(__file__).resolve().parents[2]
OWNER, ATTACKER = ("192.0.2.10", 50000), ("198.51.100.20", 50000)  # documentation addresses
SECRET_COMMENT = "Bí mật nội bộ: hồ sơ số 42 của ông Ba"
XSS = '<script>alert("xss")</script> chữ nhỏ quá'


@pytest.fixture
def seeded(dashboard_redis: redis.Redis) -> dict[str, str]:
    """A staff account, three ratings and two comments this month."""
    Accounts(dashboard_redis).add("canbo", PASSWORD)
    store = FeedbackStore(dashboard_redis)
    now = time.time()
    ids = {
        "happy": store.add(rating(now - 300)),
        "meh": store.add(rating(now - 200, "binh_thuong", channel="web")),
        "secret": store.add(comment(now - 100), SECRET_COMMENT),
        "xss": store.add(comment(now - 50, channel="zalo"), XSS),
    }
    return ids


@pytest.fixture
def app(dashboard_redis: redis.Redis, tmp_path: object) -> object:
    return create_app(DashboardSettings(secret_key=SECRET, commune_name="Xã Ví Dụ"), dashboard_redis)


@pytest.fixture
def client(app: object) -> Iterator[TestClient]:
    with TestClient(app) as c:  # type: ignore[arg-type]
        yield c


def login(client: TestClient, username: str = "canbo", password: str = PASSWORD, next: str = "/") -> object:
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": next}, follow_redirects=False)


def api_routes(app: object) -> list[APIRoute]:
    """Every path operation, the included routers' too (since FastAPI 0.137 app.routes nests them)."""
    contexts = iter_route_contexts(app.routes)  # type: ignore[attr-defined]
    return [c.original_route for c in contexts if isinstance(c.original_route, APIRoute)]


def staff_routes(app: object) -> list[APIRoute]:
    return [r for r in api_routes(app) if r.path not in PUBLIC]


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
    posts = [r for r in api_routes(app) if "POST" in r.methods]
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
                                                   dashboard_redis: redis.Redis) -> None:
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
    assert dashboard_redis.hgetall(f"feedback:ack:{entry}")["by"] == "canbo"
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
                                             dashboard_redis: redis.Redis) -> None:
    login(client)
    assert client.get("/", follow_redirects=False).status_code == 200
    Accounts(dashboard_redis).remove("canbo")
    assert client.get("/", follow_redirects=False).status_code == 303


def logout(client: TestClient) -> None:
    response = client.post("/logout", data={"csrf_token": csrf_of(client.get("/").text)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"


def replayed(app: object, cookie: str) -> int:
    """The status of the overview for a fresh browser that presents a captured session cookie."""
    with TestClient(app, cookies={SESSION_COOKIE: cookie}) as other:  # type: ignore[arg-type]
        return other.get("/", follow_redirects=False).status_code


def test_a_session_cookie_is_dead_after_logout(app: object, client: TestClient, seeded: dict[str, str]) -> None:
    login(client)
    csrf = csrf_of(client.get("/").text)  # the page's form puts a CSRF token in the session
    cookie = client.cookies[SESSION_COOKIE]
    assert replayed(app, cookie) == 200
    logout(client)
    with TestClient(app, cookies={SESSION_COOKIE: cookie}) as other:  # type: ignore[arg-type]
        response = other.get("/feedback", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
        assert SECRET_COMMENT not in response.text
        response = other.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
        assert response.headers["location"].startswith("/login?next=")


def test_the_session_cookie_names_no_user(client: TestClient, seeded: dict[str, str]) -> None:
    login(client)
    client.get("/")
    # only a random session id that Redis must know (and the CSRF token): nothing to trust without Redis
    session = json.loads(base64.b64decode(client.cookies[SESSION_COOKIE].split(".")[0]))
    assert set(session) == {"sid", "csrf"} and "canbo" not in json.dumps(session)


def test_a_password_reset_on_the_command_line_ends_open_sessions(app: object, client: TestClient,
                                                                 seeded: dict[str, str]) -> None:
    login(client)
    cookie = client.cookies[SESSION_COOKIE]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_URL": TEST_REDIS_URL, "DASHBOARD_SECRET_KEY": "s" * 40,
           "DASHBOARD_PASSWORD": "mat-khau-moi-hoan-toan"}
    done = subprocess.run([sys.executable, "-m", "dashboard", "adduser", "canbo", "--replace"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert replayed(app, cookie) == 303
    assert login(client, password="mat-khau-moi-hoan-toan").status_code == 303


def test_one_address_trying_many_usernames_is_throttled(app: object, seeded: dict[str, str]) -> None:
    with TestClient(app, client=ATTACKER) as attacker:  # type: ignore[arg-type]
        statuses = []
        for i in range(22):
            # X-Forwarded-For is anyone's to write: ignored unless DASHBOARD_TRUST_FORWARDED says otherwise
            attacker.headers["x-forwarded-for"] = f"203.0.113.{i}"
            response = login(attacker, username=f"nguoi-dung-{i}", password="sai-mat-khau")
            statuses.append(response.status_code)
        assert statuses == [401] * 19 + [429] * 3
        assert "Có quá nhiều lần đăng nhập sai từ máy này" in response.text and "15 phút" in response.text
        assert login(attacker).status_code == 429  # the right password too, from there
    with TestClient(app, client=OWNER) as owner:  # type: ignore[arg-type]
        assert login(owner, username="khong-co", password="sai-mat-khau").status_code == 401
        assert login(owner).status_code == 303


def test_hammering_a_username_locks_only_the_attacker(app: object, seeded: dict[str, str]) -> None:
    with TestClient(app, client=ATTACKER) as attacker:  # type: ignore[arg-type]
        statuses = [login(attacker, password=f"doan-mo-{i}").status_code for i in range(7)]
        assert statuses == [401] * 4 + [429] * 3
        assert "sai quá 5 lần" in login(attacker).text  # locked for this address, whatever the password
        with TestClient(app, client=OWNER) as owner:  # type: ignore[arg-type]
            response = login(owner)
            assert response.status_code == 303 and response.headers["location"] == "/"
            assert owner.get("/", follow_redirects=False).status_code == 200
            assert login(attacker, password="doan-tiep").status_code == 429  # still hammering meanwhile


def test_forwarded_addresses_count_only_behind_our_own_proxy(dashboard_redis: redis.Redis, seeded: dict[str, str]) -> None:
    app = create_app(DashboardSettings(secret_key=SECRET, trust_forwarded=True), dashboard_redis)
    with TestClient(app, client=("127.0.0.1", 50000)) as client:  # every request arrives from the proxy
        def attempt(forwarded: str, password: str = "sai-mat-khau") -> int:
            client.headers["x-forwarded-for"] = forwarded
            status = login(client, password=password).status_code
            client.cookies.clear()
            return status

        # the proxy appends the address it saw; what the client wrote before it is not believed
        assert [attempt(f"10.9.9.{i}, 198.51.100.20") for i in range(5)] == [401] * 4 + [429]
        assert attempt("198.51.100.20", PASSWORD) == 429
        assert attempt("198.51.100.20, 192.0.2.10", PASSWORD) == 303
        assert attempt("not-an-address", PASSWORD) == 303  # no usable header: the proxy's own address counts


def test_a_locked_refusal_takes_as_long_as_a_wrong_password(client: TestClient, seeded: dict[str, str],
                                                            dashboard_redis: redis.Redis) -> None:
    stored = str(dashboard_redis.hget(USER_KEY.format(name="canbo"), "password_hash"))

    def seconds(action: Callable[[], object]) -> float:
        runs = []
        for _ in range(3):  # the shortest run: the least disturbed by other work on the machine
            start = time.perf_counter()
            action()
            runs.append(time.perf_counter() - start)
        return min(runs)

    def one_verify() -> None:
        with pytest.raises(VerifyMismatchError):
            PasswordHasher().verify(stored, "sai-mat-khau")

    token = csrf_of(client.get("/login").text)
    form = {"username": "canbo", "password": "sai-mat-khau", "csrf_token": token}
    wrong = seconds(lambda: client.post("/login", data=form))
    for _ in range(2):
        client.post("/login", data=form)
    assert client.post("/login", data=form).status_code == 429
    locked = seconds(lambda: client.post("/login", data=form))
    verify = seconds(one_verify)
    # both do one argon2 verification; a refusal that skipped it took about 1% of one
    assert wrong >= 0.5 * verify and locked >= 0.5 * verify, (wrong, locked, verify)


def test_empty_states_say_what_to_do(client: TestClient, dashboard_redis: redis.Redis) -> None:
    Accounts(dashboard_redis).add("canbo", PASSWORD)
    login(client)
    for path in ("/", "/feedback", "/gaps", "/funnel"):
        assert "make demo-data" in client.get(path).text, path


def test_health_and_unknown_pages(client: TestClient, dashboard_redis: redis.Redis) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/khong-co").status_code == 404


def test_redis_down_is_a_polite_error(tmp_path: object) -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, decode_responses=True, socket_connect_timeout=0.2)
    with TestClient(create_app(DashboardSettings(secret_key=SECRET), dead)) as c:
        response = c.get("/public")
        assert response.status_code == 503 and "không kết nối được cơ sở dữ liệu" in response.text
        assert c.get("/healthz").status_code == 503


def test_a_comment_stored_raw_before_a_masking_rule_is_masked_on_every_page(client: TestClient,
                                                                           seeded: dict[str, str],
                                                                           dashboard_redis: redis.Redis) -> None:
    # a comment written before card numbers were masked: the raw number sits in Redis
    entry = seeded["secret"]
    dashboard_redis.set(f"feedback:comment:{entry}", "thẻ 4111 1111 1111 1111 bị trừ tiền hai lần")
    login(client)
    token = csrf_of(client.get("/feedback?ack=no").text)
    client.post(f"/feedback/{entry}/ack", data={"csrf_token": token, "status": "received", "reply": "Đã nhận.",
                                                 "back": "/feedback"})

    for page in (client.get("/feedback").text, client.get("/public").text):
        assert "4111" not in page and "[THẺ]" in page


def test_staff_look_procedures_up(client: TestClient, dashboard_redis: redis.Redis) -> None:
    Accounts(dashboard_redis).add("canbo", PASSWORD)
    login(client)
    page = client.get("/procedures")
    assert page.status_code == 200 and "Tra cứu thủ tục" in page.text and "thủ tục nộp tại hoặc qua cấp xã" in page.text
    found = client.get("/procedures", params={"q": "khai bao tam vang"})
    assert "Khai báo tạm vắng" in found.text and "/procedures?code=1.003677" in found.text
    card = client.get("/procedures", params={"code": "1.003677"})
    assert card.status_code == 200
    assert "Mã 1.003677" in card.text and "Giấy tờ (" in card.text and "Nguồn:" in card.text
    assert client.get("/procedures", params={"code": "9.999999"}).status_code == 404
    assert client.get("/procedures", params={"code": "../../etc"}).status_code == 404
    probe = client.get("/procedures", params={"q": "<script>alert(1)</script>"})
    assert probe.status_code == 200 and "<script>alert(1)" not in probe.text
    assert "Không tìm thấy thủ tục nào" in client.get("/procedures", params={"q": "zzzz qqqq"}).text


def test_gaps_count_catalogue_answers_as_answered(client: TestClient, dashboard_redis: redis.Redis) -> None:
    from actions.analytics import AnalyticsLog

    Accounts(dashboard_redis).add("canbo", PASSWORD)
    log = AnalyticsLog(dashboard_redis)
    now = time.time()
    common = {"channel": "zalo", "commune": "vi-du", "resident": "r1", "at": now}
    log.record("answer", guide_id="vneid-activate", **common)
    log.record("procedure", question="khai báo tạm vắng", candidates=["1.003677"], **common)
    log.record("clarify", question="giấy tờ", candidates=["dvc-login"], **common)
    login(client)
    page = client.get("/gaps")
    assert "2 câu được trả lời thẳng (từ hướng dẫn hoặc danh mục thủ tục), 1 câu phải hỏi lại" in page.text
