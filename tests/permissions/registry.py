"""The permission matrix's registry: every URL pattern of our apps → how to call it and what each
role of SPEC §6 must get, for an in-scope and an out-of-scope object.

An entry says
- `method` and `body(world, role, scope)`: GET for pages, lists, exports, GeoJSON and downloads;
  POST with a minimal valid body for actions;
- `kwargs(world, role, scope)` (and `query`): the URL for the IN-scope object (street 001) or the
  OUT-of-scope one (street 002), see tests/permissions/world.py;
- `sees`: the roles whose grants reach the IN-scope object (for lists: whose list shows it);
  `sees_out`: those that also reach the OUT-of-scope one (the district-wide roles by default);
- `acts`: the roles with the right to the page or action; `ok` the status they get, `denied` the
  status of a role that sees the object but lacks the right (403; 404 where the app hides the
  whole page from roles that have no use for it — said in `why`);
- `kind`: "object" (one record in the URL), "list" (a collection: the in-scope record is listed
  for `sees`, the out-of-scope one never for the others), "page" (no record), "public"
  (no sign-in; `ok` for everybody, anonymous included).

Every response body of a role outside `sees_out` must be free of the out-of-scope records'
texts (MARK_OUT), whatever the status.

EXEMPT lists the URL patterns deliberately left out, each with its reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.permissions.world import MARK_IN, ROLES, World

STAFF = frozenset(ROLES[1:])
ADMIN, BUREAU, CLERK, COMMUNITY, WORKER, MEDIATOR, UNIT, LEADER = ROLES[1:]
DISTRICT = frozenset({ADMIN, BUREAU})
# Who reaches the in-scope petition (cell 210204001001001, assigned to unit A): every role but
# the mediator (committees see mediation cases, not petitions).
PETITION_SEES = STAFF - {MEDIATOR}
# accounts.scoping.ACTION_ROLES, restated from SPEC §6 (the matrix is the independent check).
REGISTER = frozenset({ADMIN, BUREAU, CLERK, COMMUNITY})
OFFICE = frozenset({ADMIN, BUREAU, CLERK})  # route, notify, close, evaluate, visit, reveal …
HANDLERS = OFFICE | {UNIT}  # note, extend, reply, assign a handler
REVIEW = DISTRICT
PERSONAL = frozenset({ADMIN, BUREAU, CLERK, COMMUNITY, UNIT})
# Mediation (mediation.rights.ACTION_ROLES): screening side and mediators' side.
SCREENING = frozenset({ADMIN, BUREAU, CLERK, COMMUNITY, WORKER})
MEDIATING = frozenset({ADMIN, BUREAU, MEDIATOR})
# Who reaches the in-scope dispute (recorded by the grid worker in its cell; the first one has a
# case of committee A) and the in-scope mediation case (committee A, from that dispute).
DISPUTE_SEES = frozenset({ADMIN, BUREAU, CLERK, COMMUNITY, WORKER, LEADER})
CASE_SEES = frozenset({ADMIN, BUREAU, CLERK, COMMUNITY, MEDIATOR, LEADER})
REPORT = frozenset({ADMIN, BUREAU, CLERK, COMMUNITY, LEADER})
# Visits and reception days carry the receiving office's area code (street 001).
VISIT_SEES = frozenset({ADMIN, BUREAU, CLERK, LEADER})
# The first dispute of the cell has a case of committee A: its mediator reaches it through the
# case, and the grid worker reaches that case (and its agreement) through the dispute.
DISPUTE_LINKED_SEES = DISPUTE_SEES | {MEDIATOR}
CASE_LINKED_SEES = CASE_SEES | {WORKER}
# Ledger imports belong to an office: the users who work for the street 001 office (its area
# grants make the clerk and the leader its staff).
LEDGER_SEES = frozenset({ADMIN, CLERK, LEADER})


def _area(role: str, scope: str) -> str:
    """The role's own area (in) or the other street (out)."""
    if scope == "out":
        return "210204002"
    return {
        COMMUNITY: "210204001001",
        WORKER: "210204001001",
        ADMIN: "210204",
        BUREAU: "210204",
    }.get(role, "210204001")


def _now() -> dt.datetime:
    from django.utils import timezone

    return timezone.now()


def _local(moment: dt.datetime) -> str:
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _none(w: World, role: str, scope: str) -> dict:
    return {}


def _pk(kind: str, name: str = "pk") -> Callable[[World, str, str], dict]:
    return lambda w, role, scope: {name: w.obj(kind, scope).pk}


@dataclass(frozen=True)
class Endpoint:
    name: str
    kind: str = "object"
    method: str = "GET"
    kwargs: Callable[[World, str, str], dict] = _none
    query: Callable[[World, str, str], dict] = _none
    body: Callable[[World, str, str], dict] = _none
    sees: frozenset = STAFF
    sees_out: frozenset | None = None
    acts: frozenset | None = None
    ok: int = 200
    denied: int = 403
    api: bool = False
    # The text that shows the in-scope record in a list (default MARK_IN); None: not checked.
    marker: Callable[[World], str] | None = lambda w: MARK_IN
    # Statuses that differ for some roles whatever the scope (e.g. a signed-in user on the login
    # page is sent on), and the status an anonymous request gets when not the login redirect.
    override: dict = field(default_factory=dict)
    anonymous: int | None = None
    route: str = ""  # for a URL name used by several patterns: the pattern's route
    variant: str = ""  # tells apart several entries of one pattern (one per action slug)
    why: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.name}@{self.route}" if self.route else self.name

    @property
    def label(self) -> str:
        return f"{self.key}#{self.variant}" if self.variant else self.key

    def reaches(self, role: str, scope: str) -> bool:
        if scope == "in" or self.kind in ("page", "public"):
            return role in self.sees
        out = self.sees_out if self.sees_out is not None else self.sees & DISTRICT
        return role in out

    def allowed(self) -> frozenset:
        return self.acts if self.acts is not None else self.sees


def _version(kind: str):
    return lambda w, role, scope: {"version": w.obj(kind, scope).version}


def _petition_action(action: str, right: frozenset, ok: int, body=None, obj="petition", why=""):
    # The registered case is not routed yet: no handling unit reaches it.
    sees = PETITION_SEES - {UNIT} if obj == "petition_registered" else PETITION_SEES
    return Endpoint(
        "petitions-api:action",
        route=f"api/v1/petitions/<int:pk>/{action}/",
        method="POST",
        kwargs=lambda w, role, scope: {"pk": w.obj(obj, scope).pk, "action": action},
        body=body or _none,
        sees=sees,
        acts=right & sees,
        ok=ok,
        api=True,
        why=why,
    )


def _case_action(name: str, ok: int, body=None, obj="case", acts=MEDIATING, why=""):
    sees = CASE_LINKED_SEES if obj == "case_agreed" else CASE_SEES
    return Endpoint(
        f"mediation-api:{name}",
        method="POST",
        kwargs=_pk(obj),
        body=body or _none,
        sees=sees,
        acts=acts & sees,
        ok=ok,
        api=True,
        why=why,
    )


def _case_page_action(action: str, ok: int, body=None, obj="case", acts=MEDIATING, why=""):
    return Endpoint(
        "mediation:case-action",
        variant=action,
        method="POST",
        kwargs=lambda w, role, scope: {"pk": w.obj(obj, scope).pk, "action": action},
        body=body or _none,
        sees=CASE_SEES,
        acts=acts & CASE_SEES,
        ok=ok,
        why=why,
    )


REGISTRY: list[Endpoint] = [
    # --- petitions: pages -------------------------------------------------------------------
    Endpoint("petitions:list", kind="list", sees=PETITION_SEES, acts=STAFF),
    Endpoint("petitions:new", kind="page", sees=STAFF, acts=REGISTER),
    Endpoint("petitions:work", kind="page", sees=STAFF, acts=STAFF),
    Endpoint("petitions:detail", kwargs=_pk("petition"), sees=PETITION_SEES),
    Endpoint(
        "petitions:act",
        method="POST",
        kwargs=lambda w, role, scope: {"pk": w.obj("petition", scope).pk, "action": "note"},
        body=lambda w, role, scope: {
            "text": "电话联系物业",
            **_version("petition")(w, role, scope),
        },
        sees=PETITION_SEES,
        acts=HANDLERS,
        ok=302,
    ),
    Endpoint(
        "petitions:document",
        kwargs=lambda w, role, scope: {
            "pk": w.obj("petition", scope).pk,
            "doc_id": w.obj("document", scope).pk,
        },
        sees=PETITION_SEES,
        acts=PERSONAL,
    ),
    Endpoint(
        "petitions:document-pdf",
        kwargs=lambda w, role, scope: {
            "pk": w.obj("petition", scope).pk,
            "doc_id": w.obj("document", scope).pk,
        },
        sees=PETITION_SEES,
        acts=PERSONAL,
    ),
    Endpoint(
        "petitions:reveal",
        kwargs=lambda w, role, scope: {
            "pk": w.obj("petition", scope).pk,
            "pid": w.obj("petitioner", scope).pk,
        },
        sees=PETITION_SEES,
        acts=OFFICE,
    ),
    Endpoint("petitions:visits", kind="list", sees=VISIT_SEES, acts=OFFICE, marker=None),
    Endpoint("petitions:visit-new", kind="page", acts=OFFICE),
    Endpoint(
        "petitions:reception-days",
        kind="list",
        sees=VISIT_SEES,
        acts=OFFICE,
        marker=lambda w: f"{MARK_IN}接待室",
    ),
    Endpoint("petitions:reception-day-new", kind="page", acts=OFFICE),
    Endpoint(
        "petitions:reception-day",
        kwargs=_pk("reception_day"),
        sees=VISIT_SEES,
        acts=OFFICE,
    ),
    # --- petitions: API ---------------------------------------------------------------------
    Endpoint("petitions-api:list", kind="list", sees=PETITION_SEES, acts=STAFF, api=True),
    Endpoint(
        "petitions-api:register",
        kind="page",
        method="POST",
        body=lambda w, role, scope: {
            "channel": "letter",
            "case_type": "appeal",
            "category": w.extra["category"].pk,
            "summary": "来信反映路灯不亮",
            "petitioners": [{"name": "赵六"}],
            # The admin works for every office: it names one.
            **({"organization": w.orgs["office_in"].pk} if role == ADMIN else {}),
        },
        acts=REGISTER,
        ok=201,
        api=True,
    ),
    Endpoint(
        "petitions-api:geojson",
        kind="list",
        sees=PETITION_SEES,
        acts=STAFF,
        api=True,
        marker=lambda w: f'"id": {w.obj("petition", "in").pk}',
    ),
    Endpoint(
        "petitions-api:repeat-candidates",
        kind="page",
        acts=REGISTER,
        api=True,
        query=lambda w, role, scope: {"id_number": "11010519491231002X"},
        marker=None,
    ),
    Endpoint(
        "petitions-api:visits", kind="list", sees=VISIT_SEES, acts=STAFF, api=True, marker=None
    ),
    Endpoint("petitions-api:visit-detail", kwargs=_pk("visit"), sees=VISIT_SEES, api=True),
    Endpoint(
        "petitions-api:reception-days",
        kind="list",
        sees=VISIT_SEES,
        acts=STAFF,
        api=True,
        marker=lambda w: f"{MARK_IN}接待室",
    ),
    Endpoint(
        "petitions-api:reception-day-detail", kwargs=_pk("reception_day"), sees=VISIT_SEES, api=True
    ),
    Endpoint("petitions-api:detail", kwargs=_pk("petition"), sees=PETITION_SEES, api=True),
    _petition_action(
        "route",
        OFFICE,
        200,
        obj="petition_registered",
        body=lambda w, role, scope: {"decision": "accept"},
    ),
    _petition_action(
        "notify", OFFICE, 409, why="already notified: the state gate, after the right"
    ),
    _petition_action(
        "object", frozenset({UNIT}), 200, body=lambda w, role, scope: {"reason": "不属本单位职责"}
    ),
    _petition_action(
        "objection-resolve", OFFICE, 409, body=lambda w, role, scope: {"uphold": True}
    ),
    _petition_action(
        "assign-handler", HANDLERS, 200, body=lambda w, role, scope: {"handler": w.users[CLERK].pk}
    ),
    _petition_action("note", HANDLERS, 200, body=lambda w, role, scope: {"text": "电话联系物业"}),
    _petition_action(
        "extend",
        HANDLERS,
        200,
        body=lambda w, role, scope: {
            "days": 10,
            "reason": "需现场勘查",
            "approver": w.users[BUREAU].pk,
        },
    ),
    _petition_action(
        "reply", HANDLERS, 200, body=lambda w, role, scope: {"outcome": "support", "text": "已维修"}
    ),
    _petition_action(
        "evaluate", OFFICE, 409, body=lambda w, role, scope: {"evaluation": "satisfied"}
    ),
    _petition_action("review-request", REVIEW, 409),
    _petition_action(
        "review-answer",
        REVIEW,
        409,
        body=lambda w, role, scope: {"outcome": "explain", "text": "维持"},
    ),
    _petition_action("rereview-request", REVIEW, 409),
    _petition_action("hearing", REVIEW, 409, body=lambda w, role, scope: {"days": 5}),
    _petition_action(
        "rereview-answer",
        REVIEW,
        409,
        body=lambda w, role, scope: {"outcome": "explain", "text": "维持"},
    ),
    _petition_action("close", OFFICE, 409),
    _petition_action("supervise", DISTRICT, 200, body=lambda w, role, scope: {"reason": "督办"}),
    _petition_action(
        "relocate",
        OFFICE,
        200,
        body=lambda w, role, scope: {"cell_code": "210204001001002", "reason": "地址更正"},
    ),
    _petition_action(
        "link-repeat",
        REGISTER,
        200,
        body=lambda w, role, scope: {"channel": "visit"},
    ),
    # --- public tracking --------------------------------------------------------------------
    Endpoint("track:lookup", kind="public", sees=frozenset(ROLES), marker=None),
    Endpoint(
        "track:rate", kind="public", method="POST", sees=frozenset(ROLES), ok=200, marker=None
    ),
    Endpoint("track:api", kind="public", sees=frozenset(ROLES), marker=None, ok=400),
    # --- mediation: pages -------------------------------------------------------------------
    Endpoint("mediation:home", kind="page", marker=None),
    Endpoint("mediation:dispute-list", kind="list", sees=DISPUTE_LINKED_SEES, acts=STAFF),
    Endpoint("mediation:dispute-new", kind="page", acts=SCREENING),
    Endpoint("mediation:dispute-detail", kwargs=_pk("dispute"), sees=DISPUTE_LINKED_SEES),
    Endpoint(
        "mediation:dispute-update",
        method="POST",
        kwargs=_pk("dispute_free"),
        body=lambda w, role, scope: {
            "category": "neighbour",
            "party_count": 2,
            "party_names": "王丙\n李丁",
            "description": "楼上漏水，邻里争执",
            "risk_level": "major",
            "address": "中山路3号",
            "version": w.obj("dispute_free", scope).version,
        },
        sees=DISPUTE_SEES,
        acts=SCREENING,
        ok=302,
    ),
    Endpoint(
        "mediation:dispute-close",
        method="POST",
        kwargs=_pk("dispute_free"),
        body=lambda w, role, scope: {"outcome": "resolve", "note": "已化解"},
        sees=DISPUTE_SEES,
        acts=SCREENING,
        ok=302,
    ),
    Endpoint("mediation:case-list", kind="list", sees=CASE_LINKED_SEES, acts=STAFF),
    Endpoint(
        "mediation:case-open",
        kind="object",
        query=lambda w, role, scope: {"dispute": w.obj("dispute_free", scope).pk},
        sees=DISPUTE_SEES,
        # Mediators accept cases; the screening side refers its disputes (page and API alike).
        acts=(MEDIATING | SCREENING) & DISPUTE_SEES,
    ),
    Endpoint("mediation:case-detail", kwargs=_pk("case"), sees=CASE_SEES),
    Endpoint("mediation:agreement", kwargs=_pk("case_agreed"), sees=CASE_LINKED_SEES),
    Endpoint("mediation:agreement-pdf", kwargs=_pk("case_agreed"), sees=CASE_LINKED_SEES),
    Endpoint("mediation:termination", kwargs=_pk("case_ended"), sees=CASE_SEES),
    Endpoint("mediation:termination-pdf", kwargs=_pk("case_ended"), sees=CASE_SEES),
    _case_page_action(
        "session",
        302,
        body=lambda w, role, scope: {
            "held_at": _local(_now()),
            "place": "社区调解室",
            "attendees": "王甲、李乙",
        },
    ),
    # --- mediation: API ---------------------------------------------------------------------
    Endpoint(
        "mediation-api:round-list",
        kind="list",
        sees=STAFF - {UNIT},
        acts=STAFF,
        api=True,
        marker=lambda w: f"{MARK_IN}排查",
    ),
    Endpoint(
        "mediation-api:round-close",
        method="POST",
        kwargs=_pk("round"),
        sees=STAFF - {UNIT},
        acts=SCREENING - {WORKER},
        ok=200,
        api=True,
    ),
    Endpoint(
        "mediation-api:dispute-list", kind="list", sees=DISPUTE_LINKED_SEES, acts=STAFF, api=True
    ),
    Endpoint(
        "mediation-api:dispute-geojson",
        kind="list",
        sees=DISPUTE_LINKED_SEES,
        acts=STAFF,
        api=True,
        marker=lambda w: f'"id": {w.obj("dispute", "in").pk}',
    ),
    Endpoint(
        "mediation-api:dispute-detail", kwargs=_pk("dispute"), sees=DISPUTE_LINKED_SEES, api=True
    ),
    Endpoint(
        "mediation-api:dispute-update",
        method="POST",
        kwargs=_pk("dispute_free"),
        body=lambda w, role, scope: {"risk_level": "major"},
        sees=DISPUTE_SEES,
        acts=SCREENING,
        api=True,
    ),
    Endpoint(
        "mediation-api:dispute-close",
        method="POST",
        kwargs=_pk("dispute_free"),
        body=lambda w, role, scope: {"outcome": "resolve", "note": "已化解"},
        sees=DISPUTE_SEES,
        acts=SCREENING,
        api=True,
    ),
    Endpoint(
        "mediation-api:dispute-mediate",
        method="POST",
        kwargs=_pk("dispute_free"),
        body=lambda w, role, scope: {
            "type": "people",
            "source": "application",
            "committee": w.orgs["committee_in"].pk,
            "summary": "邻里纠纷",
            "parties": [
                {"role": "applicant", "name": "王丙"},
                {"role": "respondent", "name": "李丁"},
            ],
        },
        sees=DISPUTE_SEES,
        # As the page: the screening side refers its disputes, the mediators accept them.
        acts=SCREENING | MEDIATING,
        ok=201,
        api=True,
    ),
    Endpoint("mediation-api:case-list", kind="list", sees=CASE_LINKED_SEES, acts=STAFF, api=True),
    Endpoint("mediation-api:case-detail", kwargs=_pk("case"), sees=CASE_SEES, api=True),
    _case_action(
        "case-assign", 200, body=lambda w, role, scope: {"mediators": [w.users[MEDIATOR].pk]}
    ),
    _case_action("case-refuse", 200, body=lambda w, role, scope: {"party_name": "李乙"}),
    _case_action(
        "case-session",
        200,
        body=lambda w, role, scope: {
            "held_at": _now().isoformat(),
            "place": "社区调解室",
            "attendees": "王甲、李乙",
        },
    ),
    _case_action(
        "case-agree",
        200,
        body=lambda w, role, scope: {
            "form": "oral",
            "facts": "漏水",
            "terms": "赔偿",
            "performance_manner": "一次性支付",
        },
    ),
    _case_action(
        "case-sign",
        409,
        body=lambda w, role, scope: {"party_name": "王甲"},
        why="no written agreement yet: the state gate, after the right",
    ),
    _case_action("case-seal", 409, why="no written agreement yet: the state gate"),
    _case_action(
        "case-terminate",
        200,
        body=lambda w, role, scope: {"reason": "分歧过大", "other_routes": ["litigation"]},
    ),
    _case_action(
        "case-follow-up",
        200,
        obj="case_agreed",
        acts=MEDIATING | {WORKER},
        body=lambda w, role, scope: {
            "performance": "full",
            "visited_at": _now().isoformat(),
        },
    ),
    _case_action(
        "case-confirmation-apply",
        200,
        obj="case_agreed",
        body=lambda w, role, scope: {
            "applied_at": _local(_now())[:10],
            "court": "沙河口区人民法院",
        },
    ),
    _case_action(
        "case-confirmation-decide",
        409,
        obj="case_agreed",
        body=lambda w, role, scope: {"decision": "confirmed", "decided_at": "2026-03-20"},
        why="no application yet: the state gate",
    ),
    # --- Open311 (public by design: no personal data, no accusations, snapped locations) -----
    Endpoint("open311:root", kind="public", sees=frozenset(ROLES), marker=None),
    Endpoint(
        "open311:discovery",
        kind="public",
        sees=frozenset(ROLES),
        marker=None,
        kwargs=lambda w, role, scope: {"fmt": "json"},
    ),
    Endpoint(
        "open311:services",
        kind="public",
        sees=frozenset(ROLES),
        marker=None,
        kwargs=lambda w, role, scope: {"fmt": "json"},
    ),
    Endpoint(
        "open311:service",
        kind="public",
        sees=frozenset(ROLES),
        marker=None,
        kwargs=lambda w, role, scope: {"code": "0501", "fmt": "json"},
    ),
    Endpoint(
        "open311:requests",
        kind="public",
        sees=frozenset(ROLES),
        marker=None,
        kwargs=lambda w, role, scope: {"fmt": "json"},
    ),
    Endpoint(
        "open311:request",
        kind="public",
        sees=frozenset(ROLES),
        marker=None,
        kwargs=lambda w, role, scope: {
            "service_request_id": w.obj("petition", scope).receipt_no,
            "fmt": "json",
        },
    ),
    Endpoint(
        "open311:token",
        kind="public",
        sees=frozenset(ROLES),
        marker=None,
        ok=404,
        kwargs=lambda w, role, scope: {"token": "nope", "fmt": "json"},
    ),
    # --- ledger import (organisation-scoped: the imports of the user's own offices) ---------
    Endpoint(
        "ledger:index",
        kind="list",
        sees=LEDGER_SEES,
        acts=REGISTER,
        marker=lambda w: w.obj("ledger", "in").original_name,
    ),
    Endpoint(
        "ledger:detail",
        kwargs=_pk("ledger"),
        sees=LEDGER_SEES,
        sees_out=frozenset({ADMIN}),
        acts=REGISTER & LEDGER_SEES,
    ),
    Endpoint(
        "ledger:mapping",
        kwargs=_pk("ledger"),
        sees=LEDGER_SEES,
        sees_out=frozenset({ADMIN}),
        acts=REGISTER & LEDGER_SEES,
    ),
    Endpoint(
        "ledger:dry-run",
        method="POST",
        kwargs=_pk("ledger"),
        ok=302,
        sees=LEDGER_SEES,
        sees_out=frozenset({ADMIN}),
        acts=REGISTER & LEDGER_SEES,
    ),
    Endpoint(
        "ledger:commit",
        method="POST",
        kwargs=_pk("ledger"),
        ok=302,
        sees=LEDGER_SEES,
        sees_out=frozenset({ADMIN}),
        acts=REGISTER & LEDGER_SEES,
    ),
    Endpoint(
        "ledger:progress",
        kwargs=_pk("ledger"),
        sees=LEDGER_SEES,
        sees_out=frozenset({ADMIN}),
        acts=REGISTER & LEDGER_SEES,
    ),
    Endpoint(
        "ledger:errors-csv",
        kwargs=_pk("ledger"),
        sees=LEDGER_SEES,
        sees_out=frozenset({ADMIN}),
        acts=REGISTER & LEDGER_SEES,
    ),
    # --- notifications (each user's own) ----------------------------------------------------
    Endpoint("notifications:list", kind="list", sees=STAFF, marker=lambda w: "本人通知"),
    Endpoint(
        "notifications:count",
        kind="page",
        marker=None,
        anonymous=401,
        why="the header bell polls it: JSON 401, not a login page",
    ),
    Endpoint("notifications:read-all", kind="page", method="POST", ok=302, marker=None),
    Endpoint(
        "notifications:read",
        method="POST",
        kwargs=lambda w, role, scope: {
            "pk": (
                w.obj("notification", "in").get(role, w.obj("notification", "in")[CLERK])
                if scope == "in"
                else w.obj("notification", "out")
            ).pk
        },
        sees_out=frozenset(),
        ok=302,
    ),
    # --- dashboard and monthly report ---------------------------------------------------------
    Endpoint("dashboard:map", kind="page", acts=REPORT),
    Endpoint(
        "dashboard-api:choropleth",
        kind="page",
        acts=REPORT,
        api=True,
        marker=None,
        denied=404,
        why="the statistics API does not exist for roles without statistics",
    ),
    Endpoint(
        "dashboard-api:area",
        kwargs=lambda w, role, scope: {"code": _area(role, scope)},
        sees=REPORT,
        api=True,
        denied=404,
        why="as the choropleth",
    ),
    Endpoint(
        "dashboard-api:markers",
        kind="list",
        sees=REPORT,
        acts=REPORT,
        api=True,
        marker=None,
        denied=404,
        why="as the choropleth",
    ),
    Endpoint(
        "dashboard-api:heat",
        kind="list",
        sees=REPORT,
        acts=REPORT,
        api=True,
        marker=None,
        denied=404,
        why="as the choropleth",
    ),
    Endpoint(
        "dashboard-report:monthly",
        kind="page",
        acts=REPORT,
        denied=404,
        why="the report pages do not exist for roles without statistics",
    ),
    Endpoint(
        "dashboard-report:records",
        query=lambda w, role, scope: {
            "key": "petitions_total",
            "area": _area(role, scope),
            "period": _local(_now())[:7],
        },
        sees=REPORT,
        denied=404,
        why="as the monthly report",
    ),
    Endpoint(
        "dashboard-report:export",
        kind="page",
        acts=REPORT,
        denied=404,
        marker=None,
        kwargs=lambda w, role, scope: {"fmt": "csv"},
        why="as the monthly report",
    ),
    Endpoint(
        "dashboard-report:snapshots",
        kind="list",
        sees=REPORT,
        acts=REPORT,
        denied=404,
        marker=None,
        why="as the monthly report",
    ),
    Endpoint(
        "dashboard-report:snapshot-freeze",
        kind="page",
        method="POST",
        acts=DISTRICT,
        ok=302,
        marker=None,
        override=dict.fromkeys(STAFF - REPORT, 404),
        why="roles without statistics: the report pages do not exist for them",
    ),
    # A snapshot of street 001: above the community staff's area.
    Endpoint(
        "dashboard-report:snapshot",
        kwargs=_pk("snapshot"),
        sees=REPORT - {COMMUNITY},
        denied=404,
        why="as the monthly report",
    ),
    # --- grid ---------------------------------------------------------------------------------
    Endpoint("grid:home", kind="page", marker=None),
    Endpoint("grid:map", kind="page", marker=None),
    Endpoint(
        "grid-api:locate",
        kind="page",
        api=True,
        marker=None,
        query=lambda w, role, scope: {"lng": 121.555, "lat": 38.915},
    ),
    Endpoint(
        "grid-api:layer",
        kind="page",
        api=True,
        marker=None,
        kwargs=lambda w, role, scope: {"level": "cell"},
    ),
    # --- audit --------------------------------------------------------------------------------
    Endpoint(
        "accounts:audit",
        kind="page",
        acts=DISTRICT,
        denied=404,
        marker=None,
        why="the audit trail does not exist for other roles",
    ),
    # --- sign-in ------------------------------------------------------------------------------
    Endpoint(
        "grid:login",
        kind="public",
        sees=frozenset(ROLES),
        marker=None,
        override=dict.fromkeys(STAFF, 302),
        why="a signed-in user is sent on to the site",
    ),
    Endpoint(
        "grid:logout", kind="public", method="POST", sees=frozenset(ROLES), ok=302, marker=None
    ),
    Endpoint(
        "api-docs",
        kind="public",
        sees=frozenset(ROLES),
        marker=None,
        why="the API's documentation page (Swagger UI): no records",
    ),
    Endpoint(
        "api-not-found",
        kind="public",
        sees=frozenset(ROLES),
        marker=None,
        ok=404,
        why="the JSON 404 for every unknown /api/v1/ path",
    ),
    Endpoint(
        "schema",
        kind="public",
        sees=frozenset(ROLES),
        marker=None,
        why="the OpenAPI description: routes and fields, no records",
    ),
]

# URL patterns the matrix leaves out, with the reason.
EXEMPT: dict[str, str] = {
    "admin/": "Django admin: staff/superuser only, guarded by admin.site (tests/accounts)",
    "i18n/": "language switcher: sets a cookie, reads no data",
    "media/": "development-only static serving of MEDIA_ROOT (DEBUG); nginx serves /media/ "
    "only through X-Accel-Redirect in production",
}
