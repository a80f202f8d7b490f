"""The login log and the audit trail (SPEC §7).

Login log: every login, logout, failed login and lockout becomes an AuthLog row. Django sends
user_logged_in / user_logged_out / user_login_failed for every sign-in path (the login page, the
admin's login form); django-axes sends user_locked_out when a username + address pair reaches
AXES_FAILURE_LIMIT and again for every attempt refused while it is locked. The receivers are
connected in AccountsConfig.ready().

Audit trail: audit_list() merges the login log, the access log, the petition, dispute, mediation and
boundary-generation event rows, the admin log (users, grants, taxonomy) and the model history of
boundaries, users and grants (accounts/history.py) into one newest-first UNION ALL of (kind, id,
time), so that one ordered query pages through all of them; audit_rows() then reads a page's rows,
one query per kind (two for a history: the rows and the versions before them, for the diff).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import reduce
from importlib import import_module
from operator import or_

from django.apps import apps
from django.conf import settings
from django.contrib.admin.models import ADDITION, CHANGE, DELETION
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import validate_ipv46_address
from django.db.models import CharField, F, Q, Value
from django.http import Http404
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts import scoping
from accounts.models import AccessLog, AuthLog, Role

USER_AGENT_MAX = 255


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT proxies in front, the
    address the outermost trusted proxy saw (counted from the right of X-Forwarded-For)."""
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR", "")
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if proxies > 0 and len(forwarded) >= proxies:
        address = forwarded[-proxies]
    try:
        validate_ipv46_address(address)
    except ValidationError:
        return None
    return address


def auth_log_write(*, action: str, request=None, user=None, username: str = "") -> AuthLog:
    """One AuthLog row for `action`, with the request's address and browser."""
    agent = request.META.get("HTTP_USER_AGENT", "") if request is not None else ""
    return AuthLog.objects.create(
        user=user,
        username=(username or (user.get_username() if user is not None else ""))[:150],
        action=action,
        ip=client_ip(request),
        user_agent=agent[:USER_AGENT_MAX],
    )


def _attempted_username(credentials: dict | None) -> str:
    field = get_user_model().USERNAME_FIELD
    return str((credentials or {}).get(field) or (credentials or {}).get("username") or "")


def _user_named(username: str):
    if not username:
        return None
    model = get_user_model()
    return model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()


def _refused_while_locked(request) -> bool:
    """True when axes refused the attempt because the pair is already locked out: its backend
    marks the request before the failure is signalled, and no new failure is counted (the
    lockout receiver records that attempt). A fresh failure carries its failure count."""
    return bool(getattr(request, "axes_locked_out", False)) and (
        getattr(request, "axes_failures_since_start", None) is None
    )


def on_logged_in(sender, request, user, **kwargs) -> None:
    auth_log_write(action=AuthLog.Action.LOGIN, request=request, user=user)


def on_logged_out(sender, request, user, **kwargs) -> None:
    if user is None:  # logging out without a session
        return
    auth_log_write(action=AuthLog.Action.LOGOUT, request=request, user=user)


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    if _refused_while_locked(request):
        return
    username = _attempted_username(credentials)
    auth_log_write(
        action=AuthLog.Action.FAILED, request=request, user=_user_named(username), username=username
    )


def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    username = username or ""
    auth_log_write(
        action=AuthLog.Action.LOCKOUT,
        request=request,
        user=_user_named(username),
        username=username,
    )


def connect() -> None:
    """Connect the receivers (idempotent: dispatch_uid)."""
    from axes.signals import user_locked_out

    from accounts import middleware

    user_logged_in.connect(middleware.on_logged_in, dispatch_uid="accounts.session.fresh")
    user_logged_in.connect(on_logged_in, dispatch_uid="accounts.audit.login")
    user_logged_out.connect(on_logged_out, dispatch_uid="accounts.audit.logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="accounts.audit.failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="accounts.audit.lockout")


# --- The audit trail: every log merged into one newest-first list (bureau and admins) ---------


@dataclass(frozen=True)
class Source:
    """One log table as seen by the audit page."""

    kind: str
    label: Promise
    model: str  # "app_label.Model"
    at: str  # when the row was written
    user: str  # lookup of the acting username
    action: str
    related: tuple[str, ...] = ()
    # Codes the action filter offers → the stored value (admin log entries store a flag).
    action_values: dict[str, object] | None = None
    # Lookups the object filter searches (case-insensitive substring).
    objects: tuple[str, ...] = ()
    # The "kind" filter's value: several sources may share one (the boundary histories).
    group: str = ""

    def model_class(self):
        return apps.get_model(self.model)

    @property
    def filter_kind(self) -> str:
        return self.group or self.kind


ADMIN_FLAGS = {"add": ADDITION, "change": CHANGE, "delete": DELETION}
HISTORY_TYPES = {"add": "+", "change": "~", "delete": "-"}


def _history(kind: str, label, model: str, objects: tuple[str, ...], group: str) -> Source:
    return Source(
        kind,
        label,
        model,
        "history_date",
        "history_user__username",
        "history_type",
        ("history_user",),
        HISTORY_TYPES,
        objects,
        group,
    )


SOURCES: tuple[Source, ...] = (
    Source(
        "auth", _("登录"), "accounts.AuthLog", "at", "username", "action", objects=("username",)
    ),
    Source(
        "access",
        _("敏感信息访问"),
        "accounts.AccessLog",
        "at",
        "username",
        "action",
        objects=("label", "object_id"),
    ),
    Source(
        "petition",
        _("信访事项"),
        "petitions.PetitionEvent",
        "recorded_at",
        "actor__username",
        "action",
        ("actor", "petition"),
        objects=("petition__receipt_no",),
    ),
    Source(
        "dispute",
        _("矛盾纠纷"),
        "mediation.DisputeEvent",
        "recorded_at",
        "actor__username",
        "action",
        ("actor", "dispute"),
        objects=("dispute__description", "dispute__area_code"),
    ),
    Source(
        "mediation",
        _("调解案件"),
        "mediation.MediationEvent",
        "recorded_at",
        "actor__username",
        "action",
        ("actor", "case"),
        objects=("case__case_no",),
    ),
    Source(
        "generation",
        _("边界版本"),
        "grid.GenerationEvent",
        "at",
        "actor__username",
        "action",
        ("actor", "generation"),
        objects=("generation__name",),
    ),
    Source(
        "admin",
        _("管理后台"),
        "admin.LogEntry",
        "action_time",
        "user__username",
        "action_flag",
        ("user", "content_type"),
        ADMIN_FLAGS,
        ("object_repr",),
    ),
    _history("h_generation", _("边界版本"), "grid.HistoricalGeneration", ("name",), "boundary"),
    _history("h_district", _("区"), "grid.HistoricalDistrict", ("code", "name"), "boundary"),
    _history("h_street", _("街道"), "grid.HistoricalStreet", ("code", "name"), "boundary"),
    _history("h_community", _("社区"), "grid.HistoricalCommunity", ("code", "name"), "boundary"),
    _history("h_gridcell", _("网格"), "grid.HistoricalGridCell", ("code", "name"), "boundary"),
    _history(
        "h_gridassignment",
        _("网格分配"),
        "grid.HistoricalGridAssignment",
        ("cell__code", "user__username"),
        "boundary",
    ),
    _history("h_user", _("用户"), "accounts.HistoricalUser", ("username",), "user"),
    _history(
        "h_grant", _("授权"), "accounts.HistoricalGrant", ("user__username", "area_code"), "grant"
    ),
)
# The kind filter: one entry per log, the boundary histories together.
GROUP_LABELS = {"boundary": _("边界变更"), "user": _("用户变更"), "grant": _("授权变更")}


def audit_kind_choices() -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for source in SOURCES:
        seen.setdefault(source.filter_kind, str(GROUP_LABELS.get(source.group, source.label)))
    return list(seen.items())


SOURCE_BY_KIND = {s.kind: s for s in SOURCES}
KIND_LABELS = {s.kind: s.label for s in SOURCES}
AUDIT_ROLES = {Role.ADMIN, Role.BUREAU}


def may_audit(user) -> bool:
    return bool(scoping.roles(user) & AUDIT_ROLES)


def _scope_q(source: Source, user) -> Q:
    """Case events only for cases the user may see (a bureau sees its district's)."""
    if scoping.is_admin(user):
        return Q()
    if source.kind == "petition":
        from petitions.models import Petition

        return Q(petition__in=Petition.objects.filter(scoping.petition_scope_q(user)).values("pk"))
    if source.kind == "dispute":
        from mediation.models import Dispute
        from mediation.selectors import dispute_scope_q

        return Q(dispute__in=Dispute.objects.filter(dispute_scope_q(user)).values("pk"))
    if source.kind == "mediation":
        from mediation.models import MediationCase
        from mediation.selectors import mediation_scope_q

        return Q(case__in=MediationCase.objects.filter(mediation_scope_q(user)).values("pk"))
    return Q()


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _filters_q(source: Source, filters: dict) -> Q | None:
    """The filters as a Q over `source`; None when the source cannot match them."""
    q = Q()
    if filters.get("user"):
        q &= Q(**{f"{source.user}__iexact": filters["user"]})
    if filters.get("action"):
        value = filters["action"]
        if source.action_values is not None:
            if value not in source.action_values:
                return None
            value = source.action_values[value]
        q &= Q(**{source.action: value})
    if filters.get("date_from"):
        q &= Q(**{f"{source.at}__gte": _local_midnight(filters["date_from"])})
    if filters.get("date_to"):
        end = filters["date_to"] + dt.timedelta(days=1)
        q &= Q(**{f"{source.at}__lt": _local_midnight(end)})
    if filters.get("object"):
        if not source.objects:
            return None
        text = filters["object"].strip()
        q &= reduce(or_, [Q(**{f"{lookup}__icontains": text}) for lookup in source.objects])
    return q


def audit_list(user, filters: dict | None = None):
    """(kind, id, at) of every audit row the user may see, newest first, as one UNION ALL query.

    Rows are reduced to three columns so that one ordered, paginated query spans every log; the
    page's rows are then read with audit_rows(). Raises Http404 for users without the right.
    """
    if not may_audit(user):
        raise Http404
    filters = filters or {}
    parts = []
    for source in SOURCES:
        if filters.get("kind") and filters["kind"] != source.filter_kind:
            continue
        q = _filters_q(source, filters)
        if q is None:
            continue
        qs = source.model_class()._default_manager.filter(q & _scope_q(source, user))
        parts.append(
            qs.order_by()
            .annotate(
                a_kind=Value(source.kind, output_field=CharField()),
                a_id=F("pk"),
                a_at=F(source.at),
            )
            .values("a_kind", "a_id", "a_at")
        )
    if not parts:
        return AuthLog.objects.none().values("pk")
    return parts[0].union(*parts[1:], all=True).order_by("-a_at", "a_kind", "-a_id")


@dataclass
class AuditRow:
    kind: str
    kind_label: str
    at: dt.datetime
    user: str
    action: str
    object: str = ""
    url: str = ""
    change: str = ""
    ip: str = ""
    detail: str = ""


def audit_rows(entries) -> list[AuditRow]:
    """The page's (kind, id, at) entries as display rows: one query per kind on the page."""
    ids: dict[str, list[int]] = {}
    for e in entries:
        ids.setdefault(e["a_kind"], []).append(e["a_id"])
    objects: dict[tuple[str, int], object] = {}
    for kind, pks in ids.items():
        source = SOURCE_BY_KIND[kind]
        qs = source.model_class()._default_manager.filter(pk__in=pks)
        found = list(qs.select_related(*source.related))
        if source.group:
            _attach_previous(source, found)
        for obj in found:
            objects[(kind, obj.pk)] = obj
    rows = []
    for e in entries:
        obj = objects.get((e["a_kind"], e["a_id"]))
        if obj is not None:
            builder = _ROW_BUILDERS.get(e["a_kind"], _history_row)
            rows.append(builder(obj))
    return rows


def _attach_previous(source: Source, records: list) -> None:
    """Each history row's previous version of the same object (`_previous`), for its diff: one
    query for the page's rows of this model."""
    if not records:
        return
    model = source.model_class()
    pk_name = model.instance_type._meta.pk.attname
    object_ids = {getattr(r, pk_name) for r in records}
    before = max(r.history_id for r in records)
    versions: dict[object, list] = {}
    older = model._default_manager.filter(
        **{f"{pk_name}__in": object_ids, "history_id__lt": before}
    ).order_by("history_id")
    for version in [*older, *records]:
        versions.setdefault(getattr(version, pk_name), []).append(version)
    for r in records:
        chain = sorted(
            {v.history_id: v for v in versions[getattr(r, pk_name)]}.values(),
            key=lambda v: v.history_id,
        )
        earlier = [v for v in chain if v.history_id < r.history_id]
        r._previous = earlier[-1] if earlier else None


def _username(user) -> str:
    return user.get_username() if user is not None else ""


def _labels(module: str) -> dict:
    try:
        return import_module(module).EVENT_LABELS
    except (ImportError, AttributeError):
        return {}


def _change(choices, old: str, new: str) -> str:
    labels = dict(choices)
    if not (old or new) or old == new:
        return ""
    return f"{labels.get(old, old or '—')} → {labels.get(new, new or '—')}"


def _business_time(event) -> str:
    """The step's own time when it differs from when it was written (back-dated entries)."""
    if abs((event.recorded_at - event.at).total_seconds()) < 60:
        return ""
    return gettext("办理时间 %(at)s") % {
        "at": timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M")
    }


def _auth_row(o) -> AuditRow:
    return AuditRow(
        "auth",
        str(KIND_LABELS["auth"]),
        o.at,
        o.username,
        o.get_action_display(),
        ip=o.ip or "",
        detail=o.user_agent,
    )


def _access_row(o) -> AuditRow:
    what = o.label or (f"{o.content_type.name} {o.object_id}" if o.content_type_id else "")
    return AuditRow(
        "access",
        str(KIND_LABELS["access"]),
        o.at,
        o.username,
        o.get_action_display(),
        object=what,
        ip=o.ip or "",
        detail=o.reason,
    )


def _petition_row(o) -> AuditRow:
    from petitions.models import Petition

    return AuditRow(
        "petition",
        str(KIND_LABELS["petition"]),
        o.recorded_at,
        _username(o.actor),
        str(_labels("petitions.views").get(o.action, o.action)),
        object=o.petition.receipt_no,
        url=reverse("petitions:detail", args=[o.petition_id]),
        change=_change(Petition.Status.choices, o.from_status, o.to_status),
        detail=_business_time(o),
    )


def _dispute_row(o) -> AuditRow:
    from mediation.models import DisputeStatus

    return AuditRow(
        "dispute",
        str(KIND_LABELS["dispute"]),
        o.recorded_at,
        _username(o.actor),
        str(_labels("mediation.views").get(o.action, o.action)),
        object=str(o.dispute),
        url=reverse("mediation:dispute-detail", args=[o.dispute_id]),
        change=_change(DisputeStatus.choices, o.from_status, o.to_status),
        detail=_business_time(o),
    )


def _mediation_row(o) -> AuditRow:
    from mediation.models import MediationStatus

    return AuditRow(
        "mediation",
        str(KIND_LABELS["mediation"]),
        o.recorded_at,
        _username(o.actor),
        str(_labels("mediation.views").get(o.action, o.action)),
        object=o.case.case_no,
        url=reverse("mediation:case-detail", args=[o.case_id]),
        change=_change(MediationStatus.choices, o.from_status, o.to_status),
        detail=_business_time(o),
    )


GENERATION_ACTIONS = {"activate": _("生效"), "retire": _("停用")}


def _generation_row(o) -> AuditRow:
    action = str(GENERATION_ACTIONS.get(o.action, o.action))
    if o.forced:
        action += str(_("（强制）"))
    return AuditRow(
        "generation",
        str(KIND_LABELS["generation"]),
        o.at,
        _username(o.actor),
        action,
        object=o.generation.name,
        url=reverse("admin:grid_generation_change", args=[o.generation_id]),
        detail=o.reason,
    )


ADMIN_ACTIONS = {ADDITION: _("新增"), CHANGE: _("修改"), DELETION: _("删除")}


def _admin_row(o) -> AuditRow:
    what = f"{o.content_type.name} · {o.object_repr}" if o.content_type_id else o.object_repr
    return AuditRow(
        "admin",
        str(KIND_LABELS["admin"]),
        o.action_time,
        _username(o.user),
        str(ADMIN_ACTIONS.get(o.action_flag, o.action_flag)),
        object=what,
        detail=o.get_change_message(),
    )


# Fields whose values the audit page does not print: geometry (WKT of a boundary is no help to a
# reader; "边界已修改" is) and bookkeeping columns.
_HISTORY_HIDDEN = {"geom"}


def _same(new, old) -> bool:
    """Equal values; geometries equal to a micro-degree (a form round trip of the same boundary
    may differ in the last digits)."""
    if hasattr(new, "equals_exact") and hasattr(old, "equals_exact"):
        return new.equals_exact(old, tolerance=1e-6)
    return new == old


def _value(field, value) -> str:
    if value is None or value == "":
        return "—"
    if getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return gettext("是") if value else gettext("否")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return str(value)


def history_changes(record) -> list[str]:
    """What this version changed, field by field ("名称：旧 → 新"); a new object lists its
    values, a deleted one nothing."""
    previous = getattr(record, "_previous", None)
    if record.history_type == "-":
        return []
    tracked = record.instance_type._meta
    # A change with no version before it (history began after the object was made) lists the
    # values it left, like a creation.
    as_values = record.history_type == "+" or previous is None
    out = []
    for field in tracked.fields:
        if field.primary_key:
            continue
        try:
            history_field = record._meta.get_field(field.name)
        except FieldDoesNotExist:  # excluded from the history (accounts.history)
            continue
        name = history_field.attname
        new = getattr(record, name)
        if as_values:
            if new is None or new == "":
                continue
        elif _same(new, getattr(previous, name)):
            continue
        label = str(field.verbose_name)
        if field.name in _HISTORY_HIDDEN:
            if not as_values:
                out.append(gettext("%(field)s已修改") % {"field": label})
        elif as_values:
            out.append(f"{label}：{_value(field, new)}")
        else:
            out.append(f"{label}：{_value(field, getattr(previous, name))} → {_value(field, new)}")
    if getattr(record, "password_changed", False):
        out.append(gettext("修改了密码"))
    return out


HISTORY_ACTIONS = {"+": _("新增"), "~": _("修改"), "-": _("删除")}


def _history_row(o) -> AuditRow:
    source = SOURCE_BY_KIND[f"h_{o.instance_type._meta.model_name}"]
    meta = o.instance_type._meta
    pk = getattr(o, meta.pk.attname)
    url = ""
    if o.history_type != "-":
        try:
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk])
        except NoReverseMatch:
            url = ""
    return AuditRow(
        source.kind,
        str(source.label),
        o.history_date,
        _username(o.history_user),
        str(HISTORY_ACTIONS.get(o.history_type, o.history_type)),
        object=str(o.instance) if o.history_type != "-" else f"{meta.verbose_name} {pk}",
        url=url,
        change="；".join(history_changes(o)),
        detail=o.history_change_reason
        or ("" if o.history_user_id else gettext("命令行或系统任务")),
    )


_ROW_BUILDERS = {
    "auth": _auth_row,
    "access": _access_row,
    "petition": _petition_row,
    "dispute": _dispute_row,
    "mediation": _mediation_row,
    "generation": _generation_row,
    "admin": _admin_row,
}


def audit_action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The action filter's options, grouped by log."""
    mediation_labels = _labels("mediation.views")
    return [
        (str(KIND_LABELS["auth"]), [(a.value, str(a.label)) for a in AuthLog.Action]),
        (
            str(KIND_LABELS["access"]),
            [(a.value, str(a.label)) for a in AccessLog.Action],
        ),
        (
            str(KIND_LABELS["petition"]),
            [(k, str(v)) for k, v in _labels("petitions.views").items()],
        ),
        (
            str(_("矛盾纠纷与调解")),
            [(k, str(v)) for k, v in mediation_labels.items()],
        ),
        (str(KIND_LABELS["generation"]), [(k, str(v)) for k, v in GENERATION_ACTIONS.items()]),
        (
            str(_("管理后台与变更历史")),
            [(k, str(ADMIN_ACTIONS[flag])) for k, flag in ADMIN_FLAGS.items()],
        ),
    ]
