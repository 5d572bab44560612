"""The commune report downloads: the /reports form and /export (CSV or XLSX, built by dashboard/exports.py)."""

from __future__ import annotations

import logging
import re
import secrets
import time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dashboard import exports
from dashboard.metrics import build_report, parse_period
from dashboard.pages import flash
from dashboard.routes.deps import LabelsDep, PagesDep, SettingsDep, StaffUser, StoreDep
from dashboard.routes.params import period_choices

logger = logging.getLogger(__name__)

router = APIRouter()

DOWNLOAD_COOKIE = "dashboard_download"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@router.get("/reports", response_class=HTMLResponse)
def reports(request: Request, user: StaffUser, pages: PagesDep) -> Response:
    """The export form, with a one-time token for its download indicator."""
    return pages.render(request, "reports.html", choices=period_choices(time.time()),
                        token=secrets.token_urlsafe(12))


@router.get("/export")
def export(request: Request, user: StaffUser, store: StoreDep, settings: SettingsDep, labels: LabelsDep,
           period: str = "", format: str = "xlsx", token: str = "") -> Response:
    """The report of a month or quarter as an attachment (XLSX unless CSV is asked for)."""
    try:
        chosen = parse_period(period)
    except ValueError:
        flash(request, "Kỳ báo cáo không hợp lệ.", "error")
        return RedirectResponse("/reports", status_code=303)
    fmt = format if format in ("xlsx", "csv") else "xlsx"
    report = build_report(chosen, store.feedback(chosen.since, chosen.until),
                          store.analytics(chosen.since, chosen.until + 86400),
                          store.handoffs(chosen.since, chosen.until + 7 * 86400))
    tables = exports.report_tables(report, settings.commune_name, labels.topic, labels.channel, labels.commune)
    if fmt == "csv":
        body, media = exports.to_csv(tables), "text/csv; charset=utf-8"
    else:
        body, media = exports.to_xlsx(tables), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{exports.filename(chosen.key, fmt)}"'})
    if TOKEN.match(token):
        # lets the export page hide its progress indicator once the file has arrived
        response.set_cookie(DOWNLOAD_COOKIE, token, max_age=120, path="/", samesite="lax",
                            secure=settings.https_only)
    logger.info("%s exported the %s report (%s)", user, chosen.key, fmt)
    return response
