"""The staff dashboard web app: create_app(settings, redis) builds it; nothing happens at import.

Every page except /login, /public, /healthz, /metrics and /static needs a staff session: the signed cookie (HttpOnly,
SameSite=Lax) holds only a random session id, checked in Redis on every request and deleted at logout; without a
live one an HTML request is redirected to /login (303) and sees no data. Every POST carries the session's CSRF
token. All text is escaped by Jinja's autoescape; charts are inline SVG built in dashboard/charts.py.

The routes live in dashboard/routes/ (one APIRouter per concern); the objects they share are kept on app.state
and reach them through the dependencies in dashboard/routes/deps.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis as redis_lib
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from common.metrics import DashboardMetrics
from dashboard.auth import SESSION_TTL_S, Accounts
from dashboard.labels import Labels
from dashboard.pages import Pages
from dashboard.routes import auth, exports, feedback, figures, health, metrics, procedures
from dashboard.routes.deps import BadForm, LoginRequired
from dashboard.routes.handlers import bad_form, http_error, redis_down, security_headers, to_login
from dashboard.settings import ROOT, DashboardSettings
from dashboard.store import DashboardStore

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "dashboard_session"
SESSION_MAX_AGE = SESSION_TTL_S  # the cookie is renewed on every request; the session in Redis is not


def create_app(settings: DashboardSettings, redis: Any) -> FastAPI:
    """Build the dashboard on a Redis client (redis.Redis with decode_responses=True)."""
    app = FastAPI(title="Bảng điều khiển cán bộ", docs_url=None, redoc_url=None, openapi_url=None)
    labels = Labels(settings.knowledge_dir, ROOT / "communes")
    app.state.settings, app.state.redis, app.state.labels = settings, redis, labels
    app.state.store, app.state.accounts = DashboardStore(redis), Accounts(redis)
    app.state.pages = Pages(labels, settings.commune_name)
    app.state.metrics = DashboardMetrics()  # this app's own registry, served on /metrics without a login

    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie=SESSION_COOKIE,
                       max_age=SESSION_MAX_AGE, same_site="lax", https_only=settings.https_only)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.middleware("http")(security_headers)
    app.middleware("http")(metrics.count_requests)  # outermost: counts redirects and error pages too
    app.exception_handler(LoginRequired)(to_login)
    app.exception_handler(BadForm)(bad_form)
    app.exception_handler(redis_lib.RedisError)(redis_down)
    app.exception_handler(StarletteHTTPException)(http_error)
    for routes in (health, metrics, auth, feedback, figures, procedures, exports):
        app.include_router(routes.router)
    return app
