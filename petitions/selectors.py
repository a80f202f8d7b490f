"""Every read of petitions that users reach, filtered by the user's grants (accounts.scoping)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.scoping import petition_scope_q
from petitions import deadlines
from petitions.models import Organization, Petition

OPEN_STATUSES = ("registered", "handling", "objected", "review_requested", "rereview_requested")


def petition_list(user, *, filters: dict | None = None) -> QuerySet[Petition]:
    """Petitions in the user's scope, with the list filters applied."""
    qs = Petition.objects.filter(petition_scope_q(user)).select_related(
        "category", "handling_unit", "cell"
    )
    f = filters or {}
    if f.get("status"):
        qs = qs.filter(status__in=f["status"] if isinstance(f["status"], list) else [f["status"]])
    for key in ("channel", "case_type", "source"):
        if f.get(key):
            qs = qs.filter(**{key: f[key]})
    if f.get("category"):
        qs = qs.filter(category_id=f["category"]) | qs.filter(category__parent_id=f["category"])
    if f.get("area"):
        qs = qs.filter(area_code__startswith=f["area"])
    if f.get("received_from"):
        qs = qs.filter(received_at__date__gte=f["received_from"])
    if f.get("received_to"):
        qs = qs.filter(received_at__date__lte=f["received_to"])
    today = deadlines.local_date(timezone.now())
    if f.get("overdue"):
        qs = qs.filter(_overdue_q(today))
    if f.get("due_within") not in (None, ""):
        qs = qs.filter(_due_between_q(today, today + dt.timedelta(days=int(f["due_within"]))))
    if f.get("q"):
        qs = petition_search(qs, f["q"])
    return qs


def _overdue_q(today: dt.date):
    from django.db.models import Q

    return (
        Q(status="registered", route_due__lt=today)
        | Q(status__in=("handling", "objected"), handle_due__lt=today)
        | Q(status="review_requested", review_due__lt=today)
        | Q(status="rereview_requested", rereview_due__lt=today)
    )


def _due_between_q(start: dt.date, end: dt.date):
    from django.db.models import Q

    return (
        Q(status="registered", route_due__range=(start, end))
        | Q(status__in=("handling", "objected"), handle_due__range=(start, end))
        | Q(status="review_requested", review_due__range=(start, end))
        | Q(status="rereview_requested", rereview_due__range=(start, end))
    )


def petition_search(qs: QuerySet[Petition], text: str) -> QuerySet[Petition]:
    """Full-text-ish search that works on Chinese: substring match on receipt number, summary,
    content and address (PostgreSQL: backed by trigram GIN indexes; SQLite: LIKE)."""
    from django.db.models import Q

    text = text.strip()
    return qs.filter(
        Q(receipt_no__icontains=text)
        | Q(summary__icontains=text)
        | Q(content__icontains=text)
        | Q(address__icontains=text)
    )


def petition_get(user, pk: int) -> Petition:
    """One petition in the user's scope, else 404 (existence is not disclosed)."""
    try:
        return petition_list(user).get(pk=pk)
    except Petition.DoesNotExist as e:
        raise Http404 from e


def petition_page(user, pk: int) -> Petition | None:
    """One petition in the user's scope with everything its case page names: category (and its
    parent) and cell in the petition's statement; the organisations (registering unit, handling
    unit) and the users (registrar, handler, extension approver) in one statement each.

    One seven-table join instead cost PostgreSQL 3.6 ms of CPU per page at 1,000,000 cases —
    mostly its join search, each join alone costs 0.1–0.2 ms — a sixth of a case page's whole
    cost (issue #9, bench/README.md)."""
    petition = (
        Petition.objects.filter(petition_scope_q(user), pk=pk)
        .select_related("category__parent", "cell")
        .defer("cell__geom", "cell__geom_simple")  # the page names the cell; the map fetches it
        .order_by()
        .first()
    )
    if petition is None:
        return None
    _attach(petition, Organization, ("registered_by_org", "handling_unit"))
    _attach(petition, get_user_model(), ("registered_by", "handler", "extension_approved_by"))
    return petition


def _attach(petition: Petition, model, fields: tuple[str, ...]) -> None:
    """Fill the petition's foreign keys `fields` (all to `model`) from one in_bulk() read."""
    ids = {getattr(petition, f"{f}_id") for f in fields} - {None}
    if not ids:
        return
    found = model.objects.in_bulk(ids)
    for f in fields:
        pk = getattr(petition, f"{f}_id")
        if pk is not None:
            Petition._meta.get_field(f).set_cached_value(petition, found.get(pk))


def petition_home(user) -> dict[str, QuerySet[Petition]]:
    """The user's work: waiting for a decision, due within 3 days, overdue."""
    today = deadlines.local_date(timezone.now())
    qs = petition_list(user)
    return {
        "waiting": qs.filter(status="registered").order_by("route_due"),
        "due_soon": qs.filter(_due_between_q(today, today + dt.timedelta(days=3))),
        "overdue": qs.filter(_overdue_q(today)),
    }
