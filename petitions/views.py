"""HTML pages of the petitions app (the staff UI): intake, case list, case page with its actions,
documents, the user's work, the visit log and leader reception days.

Views parse input with petitions.forms, read through the selectors (jurisdiction built in: out of
scope is 404) and write only through the services, whose ValidationError messages (in Chinese)
go back to the form fields or to messages. No inline script: page configuration goes into
json_script elements that the static files in petitions/static/petitions/ read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts import scoping
from accounts.models import Role
from config.pagination import page_by_ids
from grid.coords import to_wgs84
from grid.services.generations import generation_at
from grid.views import basemap_layers, generation_extent
from petitions import deadlines, list_rows
from petitions import forms as pf
from petitions.masking import petitioner_display
from petitions.models import Organization, Petition
from petitions.selectors import petition_get, petition_home, petition_list, petition_page
from petitions.selectors_visits import (
    reception_day_get,
    reception_day_list,
    user_organization_list,
    visit_list,
)
from petitions.services import workflow as wf
from petitions.services.intake import (
    clean_petitioners,
    petition_link_repeat,
    petition_register,
    petition_repeat_candidates,
)
from petitions.services.visits import (
    reception_day_create,
    reception_day_summary,
    visit_record,
    visit_totals,
)

PAGE_SIZE = 50
WORK_LIMIT = 10
RECEIPT_SESSION_KEY = "petitions_receipt"
Status = Petition.Status


def acting_organization(user) -> Organization | None:
    """The organisation a user registers for: the street office of their street_clerk grant,
    else the first organisation they work for."""
    for g in scoping.grants(user):
        if g.role == Role.STREET_CLERK and g.area_code:
            office = Organization.objects.filter(
                kind=Organization.Kind.STREET_OFFICE, area_code=g.area_code, is_active=True
            ).first()
            if office:
                return office
    return user_organization_list(user).first()


def _require(user, action: str) -> None:
    if not scoping.can(user, action):
        raise PermissionDenied(_("您没有执行此操作的权限。"))


def _errors_to_messages(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


def _form_errors_to_messages(request, form) -> None:
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}：{error}" if label else error)


def _apply_service_errors(error: ValidationError, form, fields=None) -> None:
    """Put a service's field errors on the form's fields (unknown keys: non-field errors)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, errors in error.message_dict.items():
        field = (fields or {}).get(key, key)
        form.add_error(field if field in form.fields else None, errors)


# --- Deadlines, labels, masking -------------------------------------------------------------------

# Deadlines the case's own staff must meet (a negative countdown is "overdue"); the others are the
# petitioner's windows (negative means "closed").
STAFF_DEADLINES = {"route_due", "notify_due", "handle_due", "review_due", "rereview_due"}
DEADLINE_STEPS: list[tuple[str, str | None, Callable[[Petition], bool]]] = [
    ("route_due", "routed_at", lambda p: p.status == Status.REGISTERED),
    (
        "notify_due",
        "notified_at",
        lambda p: (
            p.status in (Status.REGISTERED, Status.HANDLING, Status.NOT_ACCEPTED)
            and not p.anonymous
        ),
    ),
    (
        "objection_due",
        None,
        lambda p: p.status == Status.HANDLING and p.routing in ("forward", "assign"),
    ),
    ("handle_due", "replied_at", lambda p: p.status in (Status.HANDLING, Status.OBJECTED)),
    (
        "review_request_due",
        "review_requested_at",
        lambda p: p.status in (Status.REPLIED, Status.CLOSED) and not p.is_final,
    ),
    ("review_due", "reviewed_at", lambda p: p.status == Status.REVIEW_REQUESTED),
    (
        "rereview_request_due",
        "rereview_requested_at",
        lambda p: p.status in (Status.REVIEWED, Status.CLOSED) and not p.is_final,
    ),
    ("rereview_due", "rereviewed_at", lambda p: p.status == Status.REREVIEW_REQUESTED),
]


def _label(key: str) -> str:
    return str(Petition._meta.get_field(key).verbose_name)


def deadline_info(key: str, due, *, now=None) -> dict:
    days = deadlines.days_left(due, now)
    staff = key in STAFF_DEADLINES
    if days > 0:
        text = _("剩余%(n)s天") % {"n": days}
    elif days == 0:
        text = _("今天到期")
    elif staff:
        text = _("已超期%(n)s天") % {"n": -days}
    else:
        text = _("已届满")
    return {
        "key": key,
        "label": _label(key),
        "date": due,
        "days": days,
        "text": text,
        "overdue": staff and days < 0,
        "soon": 0 <= days <= 3,
    }


def next_deadline_info(petition: Petition) -> dict | None:
    found = deadlines.next_deadline(petition)
    return deadline_info(*found) if found and found[1] else None


def deadline_rows(petition: Petition) -> list[dict]:
    """Every due date of the case: done (with when), pending (with a countdown) or moot."""
    rows = []
    for key, done_field, pending in DEADLINE_STEPS:
        due = getattr(petition, key)
        if due is None:
            continue
        done_at = getattr(petition, done_field) if done_field else None
        if done_at:
            rows.append({"key": key, "label": _label(key), "date": due, "done_at": done_at})
        elif pending(petition):
            rows.append(deadline_info(key, due))
        else:
            rows.append({"key": key, "label": _label(key), "date": due, "moot": True})
    return rows


EVENT_LABELS = {
    "register": gettext_lazy("登记"),
    "route_accept": gettext_lazy("受理"),
    "route_forward": gettext_lazy("转送"),
    "route_assign": gettext_lazy("交办"),
    "route_reject": gettext_lazy("不予受理"),
    "notify": gettext_lazy("书面告知"),
    "object": gettext_lazy("提出异议"),
    "objection_uphold": gettext_lazy("异议成立"),
    "objection_dismiss": gettext_lazy("异议不成立"),
    "assign_handler": gettext_lazy("指定承办人"),
    "note": gettext_lazy("办理记录"),
    "extend": gettext_lazy("延期"),
    "reply": gettext_lazy("答复"),
    "evaluate": gettext_lazy("评价"),
    "review_request": gettext_lazy("申请复查"),
    "review_answer": gettext_lazy("复查答复"),
    "rereview_request": gettext_lazy("申请复核"),
    "hearing": gettext_lazy("听证"),
    "rereview_answer": gettext_lazy("复核答复"),
    "close": gettext_lazy("办结"),
    "supervise": gettext_lazy("督办"),
    "link_repeat": gettext_lazy("重复信访"),
    "relocate": gettext_lazy("调整网格"),
}
PAYLOAD_LABELS = {
    "decision": gettext_lazy("处理方式"),
    "reason": gettext_lazy("理由"),
    "unit": gettext_lazy("承办单位"),
    "on_time": gettext_lazy("按期"),
    "handler": gettext_lazy("承办人"),
    "approver": gettext_lazy("批准人"),
    "days": gettext_lazy("天数"),
    "handle_due": gettext_lazy("办理期限"),
    "rereview_due": gettext_lazy("复核答复期限"),
    "outcome": gettext_lazy("处理意见"),
    "text": gettext_lazy("内容"),
    "evaluation": gettext_lazy("评价"),
    "note": gettext_lazy("说明"),
    "cell": gettext_lazy("网格"),
    "from_cell": gettext_lazy("原网格"),
    "to_cell": gettext_lazy("新网格"),
    "channel": gettext_lazy("信访形式"),
    "located": gettext_lazy("已定位"),
    "outside_grid": gettext_lazy("不在任何网格内"),
    "repeat_id": gettext_lazy("重复信访记录"),
}
PAYLOAD_CHOICES = {
    "decision": dict(Petition.Routing.choices),
    "outcome": dict(Petition.Outcome.choices),
    "evaluation": dict(Petition.Evaluation.choices),
    "channel": dict(Petition.Channel.choices),
}


def _payload_value(key, value, names: dict) -> str:
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if value is None or value == "":
        return "—"
    if key in PAYLOAD_CHOICES:
        return str(PAYLOAD_CHOICES[key].get(value, value))
    if key == "unit":
        return names["unit"].get(value, str(value))
    if key in ("handler", "approver"):
        return names["user"].get(value, str(value))
    return str(value)


def timeline(petition: Petition) -> list[dict]:
    """The event log with labels; organisation and user ids in payloads resolved in two queries."""
    events = list(petition.events.select_related("actor"))
    unit_ids = {e.payload.get("unit") for e in events} - {None}
    user_ids = {e.payload.get(k) for e in events for k in ("handler", "approver")} - {None}
    names = {
        "unit": dict(Organization.objects.filter(pk__in=unit_ids).values_list("pk", "name"))
        if unit_ids
        else {},
        "user": {
            u.pk: u.get_full_name() or u.get_username()
            for u in get_user_model().objects.filter(pk__in=user_ids)
        }
        if user_ids
        else {},
    }
    statuses = dict(Status.choices)
    return [
        {
            "event": e,
            "label": EVENT_LABELS.get(e.action, e.action),
            "from": statuses.get(e.from_status, e.from_status),
            "to": statuses.get(e.to_status, e.to_status),
            "payload": [
                (PAYLOAD_LABELS.get(k, k), _payload_value(k, v, names))
                for k, v in e.payload.items()
            ],
        }
        for e in events
    ]


# --- Actions on a case ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseAction:
    """One action of the case page: the transitions it takes, the role group that may take it
    (accounts.scoping.ACTION_ROLES), its form — whose field names are the service's keyword
    arguments — and the service."""

    label: str
    transitions: tuple[str, ...]
    group: str
    form: type
    service: Callable[..., object]
    # Hides a form the service would refuse anyway (already notified, extended once, …).
    shown: Callable[[Petition], object] = lambda p: True

    def allowed(self, user, petition: Petition) -> bool:
        return (
            any(petition.can(t) for t in self.transitions)
            and scoping.can(user, self.group, petition)
            and bool(self.shown(petition))
        )


def _not_done(field: str) -> Callable[[Petition], bool]:
    return lambda p: not getattr(p, field)


ROUTES = ("route_accept", "route_forward", "route_assign", "route_reject")
# name: (label, transitions, role group, form, service, shown). The "evaluate" row records a
# rating the petitioner gave on paper or by phone.
_ACTION_ROWS = {
    "route": (
        gettext_lazy("受理 / 转送 / 交办 / 不予受理"),
        ROUTES,
        "route",
        pf.RouteForm,
        wf.petition_route,
    ),
    "notify": (
        gettext_lazy("书面告知信访人"),
        ("notify",),
        "notify",
        pf.EmptyActionForm,
        wf.petition_notify,
        lambda p: bool(p.routing) and not p.anonymous and not p.notified_at,
    ),
    "object": (
        gettext_lazy("提出异议（不属本单位职责）"),
        ("object",),
        "object",
        pf.ReasonForm,
        wf.petition_object,
        lambda p: p.routing in ("forward", "assign"),
    ),
    "objection_resolve": (
        gettext_lazy("核查异议"),
        ("objection_uphold", "objection_dismiss"),
        "objection_resolve",
        pf.ObjectionResolveForm,
        wf.petition_objection_resolve,
    ),
    "assign_handler": (
        gettext_lazy("指定承办人"),
        ("assign_handler",),
        "assign_handler",
        pf.AssignHandlerForm,
        wf.petition_assign_handler,
    ),
    "note": (gettext_lazy("添加办理记录"), ("note",), "note", pf.NoteForm, wf.petition_add_note),
    "extend": (
        gettext_lazy("延长办理期限"),
        ("extend",),
        "extend",
        pf.ExtendForm,
        wf.petition_extend,
        _not_done("extension_days"),
    ),
    "reply": (
        gettext_lazy("答复（处理意见书）"),
        ("reply",),
        "reply",
        pf.OutcomeForm,
        wf.petition_reply,
    ),
    "evaluate": (
        gettext_lazy("登记信访人评价"),
        ("evaluate",),
        "evaluate",
        pf.EvaluateForm,
        wf.petition_evaluate,
        _not_done("evaluation"),
    ),
    "review_request": (
        gettext_lazy("登记复查申请"),
        ("review_request",),
        "review",
        pf.OptionalReasonForm,
        wf.petition_review_request,
        lambda p: not p.review_requested_at and not p.is_final,
    ),
    "review_answer": (
        gettext_lazy("复查答复（复查意见书）"),
        ("review_answer",),
        "review",
        pf.OutcomeForm,
        wf.petition_review_answer,
    ),
    "rereview_request": (
        gettext_lazy("登记复核申请"),
        ("rereview_request",),
        "review",
        pf.OptionalReasonForm,
        wf.petition_rereview_request,
        lambda p: p.reviewed_at and not p.rereview_requested_at,
    ),
    "hearing": (
        gettext_lazy("登记听证（不计入复核期限）"),
        ("hearing",),
        "review",
        pf.HearingForm,
        wf.petition_hearing,
    ),
    "rereview_answer": (
        gettext_lazy("复核答复（复核意见书）"),
        ("rereview_answer",),
        "review",
        pf.OutcomeForm,
        wf.petition_rereview_answer,
    ),
    "close": (gettext_lazy("办结"), ("close",), "close", pf.EmptyActionForm, wf.petition_close),
    "supervise": (
        gettext_lazy("督办"),
        ("supervise",),
        "supervise",
        pf.ReasonForm,
        wf.petition_supervise,
    ),
    "relocate": (
        gettext_lazy("调整所属网格"),
        ("relocate",),
        "relocate",
        pf.RelocateForm,
        wf.petition_relocate,
    ),
}
CASE_ACTIONS: dict[str, CaseAction] = {name: CaseAction(*row) for name, row in _ACTION_ROWS.items()}


def allowed_actions(user, petition: Petition) -> list[tuple[str, CaseAction]]:
    return [(name, a) for name, a in CASE_ACTIONS.items() if a.allowed(user, petition)]


@login_required
@require_POST
def petition_act(request, pk: int, action: str):
    """One endpoint for every case action: check it is allowed now, then call its service with
    the posted version (a form older than the case is a conflict, never a silent overwrite)."""
    petition = petition_get(request.user, pk)
    spec = CASE_ACTIONS.get(action)
    if spec is None:
        raise Http404
    detail = reverse("petitions:detail", args=[petition.pk])
    # A role without the right is refused (403), as by the API; a step the case is not ready for
    # comes back to the case page with a message.
    if not scoping.can(request.user, spec.group, petition):
        raise PermissionDenied(_("您没有执行此操作的权限。"))
    if not spec.allowed(request.user, petition):
        messages.error(request, _("当前不能执行“%(action)s”。") % {"action": spec.label})
        return redirect(detail)
    form = spec.form(request.POST, petition=petition)
    if not form.is_valid():
        _form_errors_to_messages(request, form)
        return redirect(detail)
    arguments = dict(form.cleaned_data)
    version = arguments.pop("version")
    try:
        # The service compares the version under its row lock: Conflict if someone was first.
        spec.service(petition=petition, actor=request.user, expected_version=version, **arguments)
    except ValidationError as e:
        _errors_to_messages(request, e)
    else:
        messages.success(request, _("已完成：%(action)s") % {"action": spec.label})
    return redirect(detail)


# --- Intake --------------------------------------------------------------------------------------

REPEAT_REASONS = {
    "same_petitioner": gettext_lazy("同一信访人"),
    "same_category": gettext_lazy("同一问题分类"),
    "nearby": gettext_lazy("200米以内"),
}
_ROW_KEY = re.compile(r"^petitioners\[(\d+)\]\.(\w+)$")
PETITIONER_FIELDS = frozenset(pf.PetitionerForm.base_fields)


def intake_map_config() -> dict:
    generation = generation_at()
    return {
        "basemap": basemap_layers(),
        "extent": generation_extent(generation) if generation else None,
        "cellLayerUrl": reverse("grid-api:layer", kwargs={"level": "cell"}),
        "locateUrl": reverse("grid-api:locate"),
        "strings": {
            "locating": _("正在定位网格…"),
            "found": _("所在网格：%(code)s %(name)s"),
            "notFound": _("该位置不在任何网格内（仍可登记，将按登记单位归属）。"),
            "error": _("网格定位失败，请稍后重试。"),
        },
    }


def _petitioner_rows(formset) -> tuple[list[dict], list[int]]:
    """The filled-in petitioner rows, and for each its index in the formset."""
    rows, index = [], []
    for i, form in enumerate(formset.forms):
        if form.has_changed():
            rows.append({k: v for k, v in form.cleaned_data.items() if k != "DELETE"})
            index.append(i)
    return rows, index


def _apply_intake_errors(error: ValidationError, form, formset, index: list[int]) -> list[str]:
    """Map the service's errors onto the form and the petitioner rows; return table-wide errors."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return []
    table_errors = []
    for key, errors in error.message_dict.items():
        row = _ROW_KEY.match(key)
        if row and int(row[1]) < len(index) and row[2] in PETITIONER_FIELDS:
            formset.forms[index[int(row[1])]].add_error(row[2], errors)
        elif key == "petitioners":
            table_errors.extend(errors)
        else:
            form.add_error(key if key in form.fields else None, errors)
    return table_errors


def _wgs84_point(form) -> Point | None:
    where = form.location()
    if where is None:
        return None
    lng, lat = to_wgs84(*where[0], where[1])
    return Point(lng, lat, srid=4326)


def _repeat_candidates(user, form, rows: list[dict]) -> list[dict]:
    """Open cases that may be the same matter, as far as the user may see them."""
    found = petition_repeat_candidates(
        id_numbers=[r["id_number"] for r in rows if r.get("id_number")],
        category=form.cleaned_data["category"],
        location=_wgs84_point(form),
    )
    if not found:
        return []
    visible = set(
        petition_list(user).filter(pk__in=[p.pk for p, _r in found]).values_list("pk", flat=True)
    )
    return [
        {"petition": p, "reasons": [REPEAT_REASONS.get(r, r) for r in dict.fromkeys(reasons)]}
        for p, reasons in found
        if p.pk in visible
    ]


def _link_repeat(request, form, pk: str):
    _require(request.user, "link_repeat")
    try:
        original = petition_get(request.user, int(pk))
    except ValueError as e:
        raise Http404 from e
    d = form.cleaned_data
    petition_link_repeat(
        petition=original,
        actor=request.user,
        channel=d["channel"],
        received_at=d["received_at"],
        summary=d["summary"],
    )
    messages.success(
        request,
        _("已作为重复信访关联到 %(receipt)s，未新建事项。") % {"receipt": original.receipt_no},
    )
    return redirect("petitions:detail", pk=original.pk)


def _register(request, form, rows: list[dict], organization: Organization):
    d = form.cleaned_data
    where = form.location()
    registered = petition_register(
        actor=request.user,
        organization=organization,
        channel=d["channel"],
        source=d["source"],
        received_at=d["received_at"],
        case_type=d["case_type"],
        category=d["category"],
        summary=d["summary"],
        content=d["content"],
        location=where[0] if where else None,
        crs=where[1] if where else "wgs84",
        address=d["address"],
        petitioners=rows,
        anonymous=d["anonymous"],
        cell=d["cell"],
        cell_override_reason=d["cell_override_reason"],
        intake_token=d["intake_token"],
    )
    petition = registered.petition
    if registered.created:
        # The query code is shown once, on the next page, and never stored in plain text.
        request.session[RECEIPT_SESSION_KEY] = {
            "pk": petition.pk,
            "query_code": registered.query_code,
        }
        messages.success(
            request, _("已登记，信访编号 %(receipt)s。") % {"receipt": petition.receipt_no}
        )
    else:
        messages.info(request, _("该登记已经提交过，没有重复登记。"))
    return redirect("petitions:detail", pk=petition.pk)


def _intake_submit(request, form, formset, organization):
    """Handle a valid POST: returns (response or None, context additions)."""
    token = form.cleaned_data["intake_token"]
    done = Petition.objects.filter(intake_token=token).values_list("pk", flat=True).first()
    if done:  # a second click on a form already registered
        messages.info(request, _("该登记已经提交过，没有重复登记。"))
        return redirect("petitions:detail", pk=done), {}
    rows, index = _petitioner_rows(formset)
    try:
        rows = clean_petitioners(rows)
        if request.POST.get("link_repeat"):
            return _link_repeat(request, form, request.POST["link_repeat"]), {}
        if request.POST.get("confirmed_new") != "1":
            candidates = _repeat_candidates(request.user, form, rows)
            if candidates:
                return None, {"candidates": candidates}
        return _register(request, form, rows, organization), {}
    except ValidationError as e:
        return None, {"petitioner_errors": _apply_intake_errors(e, form, formset, index)}


@login_required
def petition_new(request):
    """信访登记: the intake form with a map, repeat suggestions and one-case-per-token."""
    _require(request.user, "register")
    organization = acting_organization(request.user)
    extra: dict = {}
    if request.method == "POST" and organization is not None:
        form = pf.IntakeForm(request.POST)
        formset = pf.PetitionerFormSet(request.POST, prefix="petitioners")
        if form.is_valid() and formset.is_valid():
            response, extra = _intake_submit(request, form, formset, organization)
            if response is not None:
                return response
    else:
        form = pf.IntakeForm()
        formset = pf.PetitionerFormSet(prefix="petitioners")
    return render(
        request,
        "petitions/intake.html",
        {
            "form": form,
            "formset": formset,
            "organization": organization,
            "map_config": intake_map_config(),
            **extra,
        },
    )


# --- List, case page, documents, home panel ---------------------------------------------------


# The columns the case list shows and its deadline needs: not the case's text, location or the
# cell's polygons (GEOS would parse them for every row), not the handling unit (issue #9).
LIST_FIELDS = (
    "receipt_no",
    "received_at",
    "summary",
    "case_type",
    "status",
    "area_code",
    "is_final",
    "reviewed_at",
    *deadlines.DEADLINE_FIELDS,
    "category",
    "cell",
)
# … and the names the row shows for the category, its parent and the cell, joined into the page's
# rows only (page_by_ids' `rows`): not into its count nor the choice of its ids, and as values
# on the case, not as three more model instances per row (150 per page: ~2 ms of CPU).
LIST_NAMES = {
    "category_name": F("category__name"),
    "category_parent": F("category__parent__name"),
    "cell_code": F("cell__code"),
}


def _list_row(petition: Petition, detail_url: str) -> dict:
    """One row of the case list: the case, its next deadline and the dates as shown."""
    return {
        "petition": petition,
        "url": detail_url.format(petition.pk),
        "received": timezone.localtime(petition.received_at).date().isoformat(),
        "deadline": next_deadline_info(petition),
    }


@login_required
@require_GET
def petition_index(request):
    """信访事项: the filtered, paginated case list (query count independent of the rows)."""
    form = pf.PetitionFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {}
    # The rows show the cell's code, not its boundary nor the case's text: the polygons (parsed by
    # GEOS for every row) and the content stay in the database (issue #9).
    qs = (
        petition_list(request.user, filters=filters)
        .select_related(None)
        .only(*LIST_FIELDS)
        .order_by("-received_at", "-pk")
    )
    page = page_by_ids(qs, request.GET.get("page"), PAGE_SIZE, rows=qs.annotate(**LIST_NAMES))
    query = request.GET.copy()
    query.pop("page", None)
    # One reverse for the page, the rows fill in their pk (the same href a {% url %} per row gives).
    detail_url = reverse("petitions:detail", args=[0]).replace("/0/", "/{}/")
    rows = [_list_row(p, detail_url) for p in page.object_list]
    return render(
        request,
        "petitions/list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "rows_html": list_rows.rows_html(rows),
            "query": query.urlencode(),
        },
    )


@login_required
@require_GET
def petition_detail(request, pk: int):
    """The case page: fields, petitioners (masked), deadlines, timeline, documents, actions."""
    petition = petition_page(request.user, pk)
    if petition is None:
        raise Http404
    receipt = request.session.get(RECEIPT_SESSION_KEY)
    if receipt and receipt.get("pk") == petition.pk:
        del request.session[RECEIPT_SESSION_KEY]
    else:
        receipt = None
    personal = scoping.sees_personal_data(request.user)
    petitioners = [petitioner_display(request.user, p) for p in petition.petitioners.all()]
    actions = [
        {"name": name, "label": a.label, "form": a.form(petition=petition)}
        for name, a in allowed_actions(request.user, petition)
    ]
    return render(
        request,
        "petitions/detail.html",
        {
            "petition": petition,
            "receipt": receipt,
            "track_url": request.build_absolute_uri("/track/"),
            "personal": personal,
            "petitioners": petitioners if personal else [],
            "petitioner_count": len(petitioners),
            "deadline_rows": deadline_rows(petition),
            "next_deadline": next_deadline_info(petition),
            "timeline": timeline(petition),
            # The list shows kind and date: the stored notice HTML is read only when opened.
            "documents": list(petition.documents.defer("html")) if personal else [],
            "repeats": petition.repeats.count(),
            "actions": actions,
        },
    )


@login_required
@require_GET
# The stored notice carries its print styles inline (the same HTML makes the PDF); scripts stay
# forbidden.
@csp_update({"style-src": [UNSAFE_INLINE]})
def document_view(request, pk: int, doc_id: int):
    """A stored notice as printable HTML (it carries the petitioner's name and address)."""
    petition = petition_get(request.user, pk)
    if not scoping.sees_personal_data(request.user):
        raise PermissionDenied
    document = petition.documents.filter(pk=doc_id).first()
    if document is None:
        raise Http404
    response = HttpResponse(document.html, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def work_panel(request):
    """The user's work for the home page (a fragment home.js loads): waiting, due soon, overdue."""
    work = petition_home(request.user)
    sections = []
    for key, title, link in (
        ("overdue", _("已超期"), "overdue=1"),
        ("due_soon", _("3天内到期"), "due_within=3"),
        ("waiting", _("待受理"), "status=registered"),
    ):
        qs = work[key].select_related("category__parent")
        items = list(qs[:WORK_LIMIT])
        count = len(items) if len(items) < WORK_LIMIT else qs.count()
        sections.append(
            {
                "key": key,
                "title": title,
                "count": count,
                "link": f"{reverse('petitions:list')}?{link}",
                "rows": [(p, next_deadline_info(p)) for p in items],
            }
        )
    return render(request, "petitions/_work.html", {"sections": sections})


# --- Visits and reception days --------------------------------------------------------------------


@login_required
@require_GET
def visit_index(request):
    """来访登记: the visit log with its totals."""
    _require(request.user, "visit")
    qs = visit_list(request.user).order_by("-received_at", "-pk")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "petitions/visit_list.html",
        {"page": page, "totals": visit_totals(visit_list(request.user))},
    )


@login_required
def visit_new(request):
    _require(request.user, "visit")
    organization = acting_organization(request.user)
    kwargs = {
        "petitions": petition_list(request.user),
        "reception_days": reception_day_list(request.user).order_by("-date"),
    }
    if request.method == "POST" and organization is not None:
        form = pf.VisitForm(request.POST, **kwargs)
        if form.is_valid():
            d = form.cleaned_data
            try:
                visit = visit_record(
                    actor=request.user,
                    organization=organization,
                    received_at=d["received_at"],
                    headcount=d["headcount"],
                    representatives=d["representatives"],
                    answered_on_spot=d["answered_on_spot"],
                    resolved=d["resolved"],
                    petitions=d["receipts"],
                    reception_day=d["reception_day"],
                    notes=d["notes"],
                )
            except ValidationError as e:
                _apply_service_errors(e, form, {"petitions": "receipts"})
            else:
                messages.success(request, _("来访已登记。"))
                if visit.reception_day_id:
                    return redirect("petitions:reception-day", pk=visit.reception_day_id)
                return redirect("petitions:visits")
    else:
        form = pf.VisitForm(initial={"reception_day": request.GET.get("reception_day")}, **kwargs)
    return render(
        request, "petitions/visit_form.html", {"form": form, "organization": organization}
    )


@login_required
@require_GET
def reception_day_index(request):
    """领导接访日: the list, newest first, with the number of visits of each."""
    _require(request.user, "visit")
    qs = reception_day_list(request.user).annotate(visit_count=Count("visits")).order_by("-date")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "petitions/reception_day_list.html", {"page": page})


@login_required
def reception_day_new(request):
    _require(request.user, "visit")
    organization = acting_organization(request.user)
    if request.method == "POST" and organization is not None:
        form = pf.ReceptionDayForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                day = reception_day_create(actor=request.user, organization=organization, **d)
            except ValidationError as e:
                _apply_service_errors(e, form)
            else:
                messages.success(request, _("领导接访日已创建。"))
                return redirect("petitions:reception-day", pk=day.pk)
    else:
        form = pf.ReceptionDayForm()
    return render(
        request,
        "petitions/reception_day_form.html",
        {"form": form, "organization": organization},
    )


@login_required
@require_GET
def reception_day_detail(request, pk: int):
    day = reception_day_get(request.user, pk)  # out of scope: 404 whatever the role
    _require(request.user, "visit")
    visits = visit_list(request.user).filter(reception_day=day).order_by("received_at", "pk")
    return render(
        request,
        "petitions/reception_day_detail.html",
        {"day": day, "visits": visits, "summary": reception_day_summary(day)},
    )
