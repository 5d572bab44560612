"""The shared FastAPI dependencies: the objects create_app keeps on app.state, the staff session, the checked form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData

from dashboard.auth import Accounts, csrf_ok
from dashboard.labels import Labels
from dashboard.pages import Pages
from dashboard.settings import DashboardSettings
from dashboard.store import DashboardStore

_UNKNOWN = object()  # request.state.user before the session was looked up


class LoginRequired(Exception):
    """Raised by the staff dependency when there is no valid session."""


class BadForm(Exception):
    """A POST without the session's CSRF token."""


def get_settings(request: Request) -> DashboardSettings:
    """The dashboard's settings."""
    settings: DashboardSettings = request.app.state.settings
    return settings


def get_redis(request: Request) -> Any:
    """The Redis client the app was built on."""
    return request.app.state.redis


def get_store(request: Request) -> DashboardStore:
    """The Redis-backed feedback, analytics and handoff store."""
    store: DashboardStore = request.app.state.store
    return store


def get_accounts(request: Request) -> Accounts:
    """The staff accounts and sessions."""
    accounts: Accounts = request.app.state.accounts
    return accounts


def get_labels(request: Request) -> Labels:
    """The display names of guides, communes and channels."""
    labels: Labels = request.app.state.labels
    return labels


def get_pages(request: Request) -> Pages:
    """The page renderer."""
    pages: Pages = request.app.state.pages
    return pages


def current_user(request: Request) -> str | None:
    """The username of the request's live session (looked up once per request), or None."""
    user = getattr(request.state, "user", _UNKNOWN)
    if user is _UNKNOWN:
        accounts = get_accounts(request)
        user = accounts.session_user(request.session.get("sid"))
        user = request.state.user = user if user is not None and accounts.exists(user) else None
    return user if isinstance(user, str) else None


def staff(request: Request) -> str:
    """The logged-in staff member's username; LoginRequired without a live session (or for a deleted account)."""
    user = current_user(request)
    if user is None:
        request.session.pop("sid", None)
        raise LoginRequired()
    return user


async def checked_form(request: Request) -> FormData:
    """The posted form, once its CSRF token matched the session's; BadForm otherwise."""
    form = await request.form()
    if not csrf_ok(request.session, form.get("csrf_token")):
        raise BadForm()
    return form


# A route lists StaffUser (then CheckedForm) before the others: without a session it redirects before anything else.
StaffUser = Annotated[str, Depends(staff)]
CheckedForm = Annotated[FormData, Depends(checked_form)]
SettingsDep = Annotated[DashboardSettings, Depends(get_settings)]
RedisDep = Annotated[Any, Depends(get_redis)]
StoreDep = Annotated[DashboardStore, Depends(get_store)]
AccountsDep = Annotated[Accounts, Depends(get_accounts)]
LabelsDep = Annotated[Labels, Depends(get_labels)]
PagesDep = Annotated[Pages, Depends(get_pages)]
