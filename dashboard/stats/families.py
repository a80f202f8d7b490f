"""Figure families: for a period and an as-of instant, the set of records a family of figures
counts (one row per record), and the named counts over those rows.

The same row set serves the aggregate (GROUP BY an area-code prefix, see engine.py) and the
drill-down (figure_records), so a drill-down list always has exactly the figure's records.

As of an instant T, a family sees only what had been written by T: rows created by T
(`created_at <= T`) and state from the event tables (`recorded_at <= T`), never the current
status columns. The current view is the same code with T = now.

State from events, as per-record aggregates over a join to the event table (one GROUP BY per
record; no correlated subquery per row, which cost 30–50× at a million petitions). A record's
events are written one at a time under a lock on the record, so their ids are in the order they
were written; "the last event written by T" is the one with the highest id among those
recorded by T:
- a petition's status at T is the `to_status` of that event (closed ⇔ it is also the last event
  with a closed status);
- its routing decision in force at T is its last route_* / objection_uphold event written by T
  (an upheld objection undoes the routing, as it clears `routed_at` / `accepted_at`);
- a dispute's status at a business instant X, as known at T, is the `to_status` of its last
  event with `at < X` written by T, 'found' before its first event.

The fast path (`Ctx.current`): when nothing was written after the as-of instant (as of now, the
usual case), the state at T is the current state, and the families read the case columns the
services keep in step with the events (routed_at, accepted_at, status, evaluated_at,
concluded_at, the follow-up visits) instead of replaying the event log. CURRENT_FAMILIES has the
same families with the same count names; tests/dashboard/test_fast_path.py proves both give the
same figures and records. Where no column holds the history (a dispute's status at the start and
end of P; a case closed twice in P) the fast path still reads events, restricted to the period.

Attribution: every record counts in its current `area_code` (the most specific area known). A
relocation (petition_relocate) corrects a wrong cell and so applies to every period; after a
freeze it shows up as a difference between the frozen report and a fresh run, like any late
correction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import (
    Case,
    F,
    FilteredRelation,
    IntegerField,
    Max,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import TruncDate
from django.db.models.lookups import LessThanOrEqual

from dashboard.stats.periods import TZ, Period, local_midnight
from grid.models import GridCell
from mediation.models import (
    Agreement,
    Dispute,
    DisputeStatus,
    FollowUpVisit,
    MediationCase,
    MediationEvent,
    MediationStatus,
)
from petitions.deadlines import ROUTE_DAYS
from petitions.models import (
    AREA_PREFIX_LENGTHS,
    Petition,
    PetitionEvent,
    RepeatSubmission,
    Status,
    Visit,
)

ROUTE_ACCEPT = ("route_accept", "route_forward", "route_assign")
ROUTE_ACTIONS = (*ROUTE_ACCEPT, "route_reject")
# Events that set or undo the routing decision.
ROUTING_STATE = (*ROUTE_ACTIONS, "objection_uphold")
# 办结 of an accepted case: closed after the reply / review answer, or by the final 复核 answer.
# (不予受理 ends a case at routing; it is measured by 及时受理率, not by 按期办结率.)
CLOSING = ("close", "rereview_answer")
CLOSED_STATES = (Status.CLOSED, Status.NOT_ACCEPTED)
SATISFIED = (Petition.Evaluation.SATISFIED, Petition.Evaluation.BASIC)
COLLECTIVE_HEADCOUNT = 5  # 集体访: headcount ≥ 5 (SPEC §5)
OPEN_DISPUTE = (
    DisputeStatus.FOUND,
    DisputeStatus.IN_MEDIATION,
    DisputeStatus.STABILISED,
    DisputeStatus.UNRESOLVED,
)
CONCLUDING = ("agree", "terminate", "refuse")


@dataclass(frozen=True)
class Ctx:
    """What every family needs: the period, the as-of instant, the boundary generation."""

    period: Period
    as_of: dt.datetime
    generation_id: int | None = None
    # Nothing was written after as_of: the current columns are the state at as_of (fast path).
    current: bool = False
    # As of now (no as_of given, fast path): every record written so far counts, so the
    # `created_at <= as_of` cut is left out (it would be true of every row and cost a filter per
    # row: the month's petitions of a district counted in 28 ms with it, 16 ms without).
    live: bool = False

    @property
    def s(self) -> dt.datetime:
        return self.period.start_at

    @property
    def e(self) -> dt.datetime:
        return self.period.end_before


@dataclass(frozen=True)
class Family:
    name: str
    model: type
    # Path of the area code on the rows (records count in every area whose code prefixes it).
    area: str
    rows: Callable[[Ctx], QuerySet]
    # name → condition on the rows (None: every row); may use the rows' per-record aggregates.
    counts: dict[str, Q | None] = field(default_factory=dict)
    # name → (field, condition): the field summed over the rows matching the condition.
    sums: dict[str, tuple[str, Q | None]] = field(default_factory=dict)
    # Code lengths whose rows are filtered by `left(area, n) = '<code>'` instead of
    # `LIKE '<code>%'` (the same rows): an index of the model led by that expression holds an
    # area's rows of a period as one range (engine.area_q; petitions.models.AREA_PREFIX_LENGTHS).
    prefix_indexes: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    def names(self) -> list[str]:
        return [*self.counts, *self.sums]

    def condition(self, name: str) -> Q | None:
        if name in self.counts:
            return self.counts[name]
        return self.sums[name][1]


# --- helpers --------------------------------------------------------------------------------


def _last(rel: str, *conditions: Q) -> Max:
    """The id of the record's last event (via relation `rel`) matching all conditions."""
    return Max(f"{rel}__id", filter=Q(*conditions))


def _created_by(ctx: Ctx) -> dict:
    """The filter of records created by the as-of instant (none when as of now)."""
    return {} if ctx.live else {"created_at__lte": ctx.as_of}


def _written_by(rel: str, ctx: Ctx) -> Q:
    return Q(**{f"{rel}__recorded_at__lte": ctx.as_of})


def _during(path: str, start: dt.datetime, end: dt.datetime) -> Q:
    return Q(**{f"{path}__gte": start, f"{path}__lt": end})


def _on_or_before(datetime_path: str, date_field: str) -> LessThanOrEqual:
    """The Beijing date of `datetime_path` is on or before the date in `date_field`."""
    return LessThanOrEqual(TruncDate(datetime_path, tzinfo=TZ), F(date_field))


def _flag(condition: Q) -> Case:
    """1 where the condition holds, else 0: lets a family's counts stay period-independent."""
    return Case(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


# --- petitions ------------------------------------------------------------------------------


def _intake_rows(ctx: Ctx) -> QuerySet:
    """信访总量: petitions received in P (each Petition is a new case; repeats are separate rows)."""
    return Petition.objects.filter(_during("received_at", ctx.s, ctx.e), **_created_by(ctx))


def _routing_rows(ctx: Ctx) -> QuerySet:
    """及时受理率: cases whose routing decision was due in P; timely when the decision in force
    at T was made on or before `route_due` (Beijing date)."""
    written = _written_by("events", ctx)
    # route_due is the received date + 15 (petitions.deadlines.route_due): the same rows by the
    # indexed received_at as well.
    lag = dt.timedelta(days=ROUTE_DAYS)
    return Petition.objects.filter(
        _during("received_at", ctx.s - lag, ctx.e - lag),
        route_due__gte=ctx.period.start,
        route_due__lte=ctx.period.end,
        **_created_by(ctx),
    ).annotate(
        _last_routing=_last("events", written, Q(events__action__in=ROUTING_STATE)),
        _last_timely=_last(
            "events",
            written,
            Q(events__action__in=ROUTE_ACTIONS),
            Q(_on_or_before("events__at", "route_due")),
        ),
    )


def _closure_rows(ctx: Ctx) -> QuerySet:
    """结案率 (cohort): cases accepted in P (and in 1 Jan..end of P for the year to date) by the
    routing decision in force at T; closed when their last event by T left them closed."""
    ytd_start = local_midnight(ctx.period.year_to_date().start)
    since = min(ctx.s, ytd_start)
    accepted_in = PetitionEvent.objects.filter(
        _during("at", since, ctx.e), recorded_at__lte=ctx.as_of, action__in=ROUTE_ACCEPT
    ).values("petition_id")
    written = _written_by("events", ctx)
    accepted = Q(events__action__in=ROUTE_ACCEPT)
    return (
        Petition.objects.filter(pk__in=accepted_in)
        .annotate(
            _last=_last("events", written),
            _last_closed=_last("events", written, Q(events__to_status__in=CLOSED_STATES)),
            _last_routing=_last("events", written, Q(events__action__in=ROUTING_STATE)),
            _last_accept=_last("events", written, accepted),
            _accepted_at=Max("events__at", filter=written & accepted),
        )
        .filter(_last_routing=F("_last_accept"), _accepted_at__gte=since, _accepted_at__lt=ctx.e)
        .annotate(
            _in_period=_flag(Q(_accepted_at__gte=ctx.s)),
            _in_ytd=_flag(Q(_accepted_at__gte=ytd_start)),
        )
    )


def _on_time_rows(ctx: Ctx) -> QuerySet:
    """按期办结率: cases closed in P (a close / 复核 answer event in P; counted once), on time
    when closed on or before `handle_due` (Beijing date; it includes an approved extension)."""
    closes = PetitionEvent.objects.filter(
        _during("at", ctx.s, ctx.e), recorded_at__lte=ctx.as_of, action__in=CLOSING
    )
    return Petition.objects.filter(pk__in=closes.values("petition_id")).annotate(
        _on_time=_last(
            "events",
            _written_by("events", ctx),
            _during("events__at", ctx.s, ctx.e),
            Q(events__action__in=CLOSING),
            Q(_on_or_before("events__at", "handle_due")),
        )
    )


def _evaluation_rows(ctx: Ctx) -> QuerySet:
    """满意率: cases evaluated in P (the evaluate event; an evaluation is given once, so the
    case's `evaluation` is the one given then)."""
    evaluated = PetitionEvent.objects.filter(
        _during("at", ctx.s, ctx.e), recorded_at__lte=ctx.as_of, action="evaluate"
    )
    return Petition.objects.filter(pk__in=evaluated.values("petition_id"))


def _repeat_rows(ctx: Ctx) -> QuerySet:
    return RepeatSubmission.objects.filter(_during("received_at", ctx.s, ctx.e), **_created_by(ctx))


def _visit_rows(ctx: Ctx) -> QuerySet:
    qs = Visit.objects.filter(_during("received_at", ctx.s, ctx.e))
    # Visit has no write timestamp yet; when it gains `created_at` the as-of cut applies to it.
    if any(f.name == "created_at" for f in Visit._meta.concrete_fields):
        qs = qs.filter(**_created_by(ctx))
    return qs


# --- disputes and mediation -----------------------------------------------------------------


def _dispute_rows(ctx: Ctx) -> QuerySet:
    """化解率 / 调处稳控率 base: disputes found by the end of P that were open at the start of P
    or found in P; with their status at the end of P (resolved / stabilised)."""
    written = _written_by("events", ctx)
    before_start = Q(events__at__lt=ctx.s)
    before_end = Q(events__at__lt=ctx.e)
    return (
        Dispute.objects.filter(found_at__lt=ctx.e, **_created_by(ctx))
        .annotate(
            _last_start=_last("events", written, before_start),
            _last_start_open=_last(
                "events", written, before_start, Q(events__to_status__in=OPEN_DISPUTE)
            ),
            _last_end=_last("events", written, before_end),
            _last_end_resolved=_last(
                "events", written, before_end, Q(events__to_status=DisputeStatus.RESOLVED)
            ),
            _last_end_stabilised=_last(
                "events", written, before_end, Q(events__to_status=DisputeStatus.STABILISED)
            ),
        )
        .filter(
            Q(found_at__gte=ctx.s)
            | Q(_last_start__isnull=True)  # no event before P: still 'found'
            | Q(_last_start=F("_last_start_open"))
        )
        .annotate(_found_in_period=_flag(Q(found_at__gte=ctx.s)))
    )


def _disputes_found_rows(ctx: Ctx) -> QuerySet:
    """矛盾纠纷 (件): disputes found in P — the same records as the `found` count of the disputes
    family (found in P ⇒ in its base), without that family's replay of every open dispute's
    events, so the count and its 同比/环比 stay cheap."""
    return Dispute.objects.filter(_during("found_at", ctx.s, ctx.e), **_created_by(ctx))


def _mediation_rows(ctx: Ctx) -> QuerySet:
    """调解成功率: mediation cases concluded in P (agreed, terminated or refused; a case
    concludes once), with an agreement when the concluding step was `agree`."""
    concluded = MediationEvent.objects.filter(
        _during("at", ctx.s, ctx.e), recorded_at__lte=ctx.as_of, action__in=CONCLUDING
    )
    return MediationCase.objects.filter(pk__in=concluded.values("case_id")).annotate(
        _agreed=_last(
            "events",
            _written_by("events", ctx),
            _during("events__at", ctx.s, ctx.e),
            Q(events__action="agree"),
        )
    )


def _agreement_rows(ctx: Ctx) -> QuerySet:
    """协议履行率: agreements followed up in P, each once, judged by its latest follow-up in P
    (the follow_up events, written with the visit's time and its performance)."""
    follow_ups = MediationEvent.objects.filter(
        _during("at", ctx.s, ctx.e), recorded_at__lte=ctx.as_of, action="follow_up"
    )
    in_period = (
        _written_by("case__events", ctx)
        & _during("case__events__at", ctx.s, ctx.e)
        & Q(case__events__action="follow_up")
    )
    full = Q(case__events__payload__performance=FollowUpVisit.Performance.FULL)
    return Agreement.objects.filter(case_id__in=follow_ups.values("case_id")).annotate(
        _latest=Max("case__events__at", filter=in_period),
        _latest_full=Max("case__events__at", filter=in_period & full),
    )


def _cell_rows(ctx: Ctx) -> QuerySet:
    """Residents: cells of the boundary generation (the active one unless given)."""
    if ctx.generation_id is None:
        return GridCell.objects.filter(generation__status="active")
    return GridCell.objects.filter(generation_id=ctx.generation_id)


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        Family(
            "intake",
            Petition,
            "area_code",
            _intake_rows,
            counts={"new": None},
            prefix_indexes=tuple(AREA_PREFIX_LENGTHS.values()),
        ),
        Family(
            "routing",
            Petition,
            "area_code",
            _routing_rows,
            counts={"due": None, "timely": Q(_last_routing=F("_last_timely"))},
        ),
        Family(
            "closure",
            Petition,
            "area_code",
            _closure_rows,
            counts={
                "accepted": Q(_in_period=1),
                "closed": Q(_in_period=1, _last=F("_last_closed")),
                "accepted_ytd": Q(_in_ytd=1),
                "closed_ytd": Q(_in_ytd=1, _last=F("_last_closed")),
            },
        ),
        Family(
            "on_time",
            Petition,
            "area_code",
            _on_time_rows,
            counts={"closed": None, "on_time": Q(_on_time__isnull=False)},
        ),
        Family(
            "evaluation",
            Petition,
            "area_code",
            _evaluation_rows,
            counts={"evaluated": None, "satisfied": Q(evaluation__in=SATISFIED)},
        ),
        Family("repeats", RepeatSubmission, "area_code", _repeat_rows, counts={"repeats": None}),
        Family(
            "visits",
            Visit,
            "area_code",
            _visit_rows,
            counts={"batches": None, "collective": Q(headcount__gte=COLLECTIVE_HEADCOUNT)},
            sums={"persons": ("headcount", None)},
        ),
        Family(
            "disputes",
            Dispute,
            "area_code",
            _dispute_rows,
            counts={
                "base": None,
                "found": Q(_found_in_period=1),
                "resolved": Q(_last_end=F("_last_end_resolved")),
                "controlled": Q(_last_end=F("_last_end_resolved"))
                | Q(_last_end=F("_last_end_stabilised")),
                "stabilised": Q(_last_end=F("_last_end_stabilised")),
            },
        ),
        Family(
            "disputes_found", Dispute, "area_code", _disputes_found_rows, counts={"found": None}
        ),
        Family(
            "mediation",
            MediationCase,
            "area_code",
            _mediation_rows,
            counts={"concluded": None, "agreed": Q(_agreed__isnull=False)},
        ),
        Family(
            "agreements",
            Agreement,
            "case__area_code",
            _agreement_rows,
            counts={"followed_up": None, "performed": Q(_latest=F("_latest_full"))},
        ),
        Family("cells", GridCell, "code", _cell_rows, sums={"residents": ("residents", None)}),
    ]
}


# --- the fast path: the same families from the current columns -----------------------------


def _routing_rows_now(ctx: Ctx) -> QuerySet:
    """及時受理率 now: the routing decision in force is the one in `routed_at` (an upheld objection
    clears it), made on `routed_at`."""
    return _routing_base(ctx)


def _routing_base(ctx: Ctx) -> QuerySet:
    lag = dt.timedelta(days=ROUTE_DAYS)
    return Petition.objects.filter(
        _during("received_at", ctx.s - lag, ctx.e - lag),
        route_due__gte=ctx.period.start,
        route_due__lte=ctx.period.end,
        **_created_by(ctx),
    )


def _closure_rows_now(ctx: Ctx) -> QuerySet:
    """结案率 now: `accepted_at` is the last acceptance while an acceptance is the routing in force
    (an upheld objection clears it); closed is the current status."""
    ytd_start = local_midnight(ctx.period.year_to_date().start)
    since = min(ctx.s, ytd_start)
    return Petition.objects.filter(
        _during("accepted_at", since, ctx.e), **_created_by(ctx)
    ).annotate(
        _in_period=_flag(Q(accepted_at__gte=ctx.s)),
        _in_ytd=_flag(Q(accepted_at__gte=ytd_start)),
    )


def _on_time_rows_now(ctx: Ctx) -> QuerySet:
    """按期办结率 now: a case may close twice in P (closed, 复核 requested, answered), so the
    closing events stay the source; the join reads only the period's closing events."""
    closing = FilteredRelation(
        "events", condition=Q(events__action__in=CLOSING) & _during("events__at", ctx.s, ctx.e)
    )
    # Only `at` of the events is read (the partial index petitionevent_closing_at covers it).
    on_time = Max("_closing__at", filter=Q(_on_or_before("_closing__at", "handle_due")))
    return (
        Petition.objects.annotate(_closing=closing)
        .filter(_closing__at__isnull=False)
        .annotate(_on_time=on_time)
    )


def _evaluation_rows_now(ctx: Ctx) -> QuerySet:
    """满意率 now: `evaluated_at` is when the (single) evaluation was given."""
    return Petition.objects.filter(_during("evaluated_at", ctx.s, ctx.e))


def _dispute_rows_now(ctx: Ctx) -> QuerySet:
    """化解率 now: the status at the start and end of P still comes from the events, but a dispute
    resolved or diverted before P (and not reopened: `closed_at` is the time of its last step)
    can be in no base of P, so it is left out before the join."""
    closed_before = Q(
        status__in=(DisputeStatus.RESOLVED, DisputeStatus.DIVERTED), closed_at__lt=ctx.s
    )
    return _dispute_rows(ctx).exclude(closed_before)


def _mediation_rows_now(ctx: Ctx) -> QuerySet:
    """调解成功率 now: a case concludes once (`concluded_at`); agreed is a final status."""
    return MediationCase.objects.filter(_during("concluded_at", ctx.s, ctx.e))


def _agreement_rows_now(ctx: Ctx) -> QuerySet:
    """协议履行率 now: the follow-up visits in P (each written with its follow_up event)."""
    visits = FilteredRelation(
        "follow_ups", condition=_during("follow_ups__visited_at", ctx.s, ctx.e)
    )
    full = Q(_visits__performance=FollowUpVisit.Performance.FULL)
    return (
        Agreement.objects.annotate(_visits=visits)
        .filter(_visits__isnull=False)
        .annotate(
            _latest=Max("_visits__visited_at"), _latest_full=Max("_visits__visited_at", filter=full)
        )
    )


CURRENT_FAMILIES: dict[str, Family] = {
    **FAMILIES,
    **{
        f.name: f
        for f in [
            Family(
                "routing",
                Petition,
                "area_code",
                _routing_rows_now,
                counts={
                    "due": None,
                    "timely": Q(routed_at__isnull=False)
                    & Q(_on_or_before("routed_at", "route_due")),
                },
            ),
            Family(
                "closure",
                Petition,
                "area_code",
                _closure_rows_now,
                counts={
                    "accepted": Q(_in_period=1),
                    "closed": Q(_in_period=1, status__in=CLOSED_STATES),
                    "accepted_ytd": Q(_in_ytd=1),
                    "closed_ytd": Q(_in_ytd=1, status__in=CLOSED_STATES),
                },
            ),
            Family(
                "on_time",
                Petition,
                "area_code",
                _on_time_rows_now,
                counts={"closed": None, "on_time": Q(_on_time__isnull=False)},
            ),
            Family(
                "evaluation",
                Petition,
                "area_code",
                _evaluation_rows_now,
                counts={"evaluated": None, "satisfied": Q(evaluation__in=SATISFIED)},
            ),
            Family(
                "disputes",
                Dispute,
                "area_code",
                _dispute_rows_now,
                counts=FAMILIES["disputes"].counts,
            ),
            Family(
                "mediation",
                MediationCase,
                "area_code",
                _mediation_rows_now,
                counts={"concluded": None, "agreed": Q(status=MediationStatus.AGREED)},
            ),
            Family(
                "agreements",
                Agreement,
                "case__area_code",
                _agreement_rows_now,
                counts={"followed_up": None, "performed": Q(_latest=F("_latest_full"))},
            ),
        ]
    },
}


def family_get(name: str, ctx: Ctx) -> Family:
    """The family as the context reads it: from the columns when current, else from the events."""
    return (CURRENT_FAMILIES if ctx.current else FAMILIES)[name]
