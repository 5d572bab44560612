"""The procedure catalogue lookup: search by words, or one procedure by its code."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.text import clean
from dashboard.routes.deps import PagesDep, StaffUser
from procedures.search import display_name, get_procedure_index

router = APIRouter()

PROCEDURE_CODE = re.compile(r"^\d{1,2}\.\d{6}$")
PROCEDURE_RESULTS = 15


@router.get("/procedures", response_class=HTMLResponse)
def procedures_page(request: Request, user: StaffUser, pages: PagesDep, q: str = "", code: str = "") -> Response:
    """Search the catalogue, or show one procedure (404 for an unknown code)."""
    index = get_procedure_index()
    query = clean(q)[:200].strip()
    record = index.by_code.get(code) if PROCEDURE_CODE.match(code) else None
    hits = index.search(query, top=PROCEDURE_RESULTS) if query and record is None else []
    if code and record is None:
        raise StarletteHTTPException(status_code=404)
    dates = sorted({r.data_date for r in index.records})
    return pages.render(request, "procedures.html", query=query, hits=hits, record=record, total=len(index.records),
                        commune_count=sum(1 for r in index.records if r.commune_level), dates=dates,
                        display_name=display_name)
