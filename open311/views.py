"""Open311 GeoReport v2 endpoints under /open311/v2/ (`.json` or `.xml`)."""

from __future__ import annotations

import re

from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from open311 import services as s
from open311.render import render

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


def _errors(e: s.Open311Error, fmt: str):
    return render("errors", e.errors, fmt, status=e.status)


def _guard(fn):
    def wrapper(request, *args, fmt: str, **kwargs):
        try:
            s.jurisdiction_check(request.GET if request.method == "GET" else request.POST)
            return fn(request, *args, fmt=fmt, **kwargs)
        except s.Open311Error as e:
            return _errors(e, fmt)

    wrapper.__name__ = fn.__name__
    return wrapper


@require_http_methods(["GET"])
@_guard
def discovery(request, *, fmt: str):
    base = request.build_absolute_uri(reverse("open311:root"))
    return render(
        "discovery",
        {
            "changeset": "2026-11-27T00:00:00+08:00",
            "contact": "区信访局",
            "key_service": "区信访局（申请 api_key）",
            "endpoints": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": base.rstrip("/"),
                    "changeset": "2026-11-27T00:00:00+08:00",
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
        fmt,
    )


@require_http_methods(["GET"])
@_guard
def services(request, *, fmt: str):
    return render("services", [s.service_public(c) for c in s.public_categories()], fmt)


@require_http_methods(["GET"])
@_guard
def service_definition(request, code: str, *, fmt: str):
    return render("service_definition", s.service_definition(s.service_get(code)), fmt)


_ATTR = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")


def _attributes(post) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key in post:
        m = _ATTR.match(key)
        if m:
            found.setdefault(m.group(1), []).extend(post.getlist(key))
    return found


@csrf_exempt  # machine-to-machine, authenticated by api_key, no cookies
@require_http_methods(["GET", "POST"])
@_guard
def requests(request, *, fmt: str):
    if request.method == "POST":
        partner = s.partner_authenticate(request.POST.get("api_key"))
        posted = s.request_post(
            partner=partner,
            data=request.POST,
            attributes=_attributes(request.POST),
            media=request.FILES.get("media"),
        )
        item = (
            {"token": posted.token}
            if posted.token
            else {"service_request_id": posted.petition.receipt_no}
        )
        item.update({"service_notice": "", "account_id": request.POST.get("account_id") or None})
        return render("requests", [item], fmt, status=201)
    # Only the columns a GeoReport request shows: never a boundary (reading and parsing the
    # cell's and the community's polygons for every row cost more than the rest of the request),
    # nor the case's text (issue #9).
    qs = s.requests_list(request.GET).only(*s.PUBLIC_FIELDS)
    try:
        size = min(max(int(request.GET.get("page_size", DEFAULT_PAGE_SIZE)), 1), MAX_PAGE_SIZE)
        number = int(request.GET.get("page", 1))
    except ValueError:
        raise s.Open311Error(400, "page / page_size 无效。") from None
    # Only the page, no COUNT(*): GeoReport v2 returns no total, and counting the 90-day window
    # cost 0.6 s at a million cases, far more than the page (issue #9). As with a Paginator, a
    # page below 1 or past the end (other than an empty first page) is a 400.
    rows = list(qs[(number - 1) * size : number * size]) if number >= 1 else []
    if number < 1 or (number > 1 and not rows):
        raise s.Open311Error(400, "page / page_size 无效。")
    return render("requests", [s.request_public(p) for p in rows], fmt)


@require_http_methods(["GET"])
@_guard
def request_detail(request, service_request_id: str, *, fmt: str):
    return render("requests", [s.request_public(s.request_get(service_request_id))], fmt)


@require_http_methods(["GET"])
@_guard
def token(request, token: str, *, fmt: str):
    found = s.token_get(token)
    return render(
        "requests", [{"service_request_id": found.petition.receipt_no, "token": found.token}], fmt
    )
