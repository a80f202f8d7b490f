"""Every read of disputes and mediation cases that users reach, filtered by the user's grants.

Jurisdiction (SPEC §6), built on accounts.scoping:
- admin: everything;
- bureau, street clerk, community staff, leader: records whose area code lies under a grant;
- grid worker: disputes in the cells assigned to them (active generation) or recorded by them,
  and the mediation cases opened from those disputes (they record the follow-ups);
- mediator: cases of their committee (a mediator grant's organisation) or that name them as a
  mediator, and the disputes linked to those cases;
- handling units: no disputes or cases.
Anything outside is answered with Http404 (existence is not disclosed).
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.db.models import Case, Q, QuerySet, When
from django.http import Http404
from django.utils import timezone

from accounts.models import Role
from accounts.scoping import area_codes, grants, is_admin, roles
from grid.models import Generation, GridCell
from mediation.models import Dispute, MediationCase, ScreeningRound
from petitions import deadlines

AREA_ROLES = {Role.BUREAU, Role.STREET_CLERK, Role.COMMUNITY_STAFF, Role.LEADER}
NONE = Q(pk__in=[])


def _any(parts: list[Q]) -> Q:
    return reduce(or_, parts) if parts else NONE


def _under(codes: list[str], field: str = "area_code") -> list[Q]:
    return [Q(**{f"{field}__startswith": c}) for c in codes]


def user_cells(user) -> QuerySet[GridCell]:
    """The grid worker's assigned cells in the active generation."""
    if not getattr(user, "is_authenticated", False):
        return GridCell.objects.none()
    return GridCell.objects.filter(
        assignments__user=user, generation__status=Generation.Status.ACTIVE
    ).order_by("code")


def _cell_codes(user) -> list[str]:
    cached = getattr(user, "_civicgrid_cell_codes", None)
    if cached is None:
        cached = list(user_cells(user).values_list("code", flat=True))
        user._civicgrid_cell_codes = cached
    return cached


def _committees(user) -> list[int]:
    return [
        g.organization_id for g in grants(user) if g.role == Role.MEDIATOR and g.organization_id
    ]


def _grid_dispute_q(user) -> Q:
    return Q(area_code__in=_cell_codes(user)) | Q(recorded_by=user)


def _mediator_case_q(user) -> Q:
    mine = MediationCase.mediators.through.objects.filter(user=user).values("mediationcase_id")
    return Q(committee_id__in=_committees(user)) | Q(pk__in=mine)


def dispute_scope_q(user) -> Q:
    """Disputes the user may see; Q(pk__in=[]) when none."""
    if is_admin(user):
        return Q()
    parts = _under(area_codes(user, AREA_ROLES))
    user_roles = roles(user)
    if Role.GRID_WORKER in user_roles:
        parts.append(_grid_dispute_q(user))
    if Role.MEDIATOR in user_roles:
        cases = MediationCase.objects.filter(_mediator_case_q(user), dispute__isnull=False)
        parts.append(Q(pk__in=cases.values("dispute_id")))
    return _any(parts)


def mediation_scope_q(user) -> Q:
    """Mediation cases the user may see; Q(pk__in=[]) when none."""
    if is_admin(user):
        return Q()
    parts = _under(area_codes(user, AREA_ROLES))
    user_roles = roles(user)
    if Role.MEDIATOR in user_roles:
        parts.append(_mediator_case_q(user))
    if Role.GRID_WORKER in user_roles:
        disputes = Dispute.objects.filter(_grid_dispute_q(user))
        parts.append(Q(dispute_id__in=disputes.values("pk")))
    return _any(parts)


def round_scope_q(user) -> Q:
    """Rounds covering or lying under the user's areas (a street sees the district's round)."""
    if is_admin(user):
        return Q()
    codes = list(area_codes(user, AREA_ROLES))
    if Role.GRID_WORKER in roles(user):
        codes += _cell_codes(user)
    if Role.MEDIATOR in roles(user):
        codes += [g.organization.area_code for g in grants(user) if g.organization_id]
    codes = [c for c in codes if c]
    # Codes extend their parent's by 3 digits: the areas above a code are its 6/9/12-digit prefixes.
    above = {c[:n] for c in codes for n in range(6, len(c) + 1, 3)}
    parts = _under(codes)
    if above:
        parts.append(Q(area_code__in=sorted(above)))
    return _any(parts)


# --- Disputes -----------------------------------------------------------------------------------


def dispute_list(user, filters: dict | None = None) -> QuerySet[Dispute]:
    """Disputes in the user's scope, with the list filters applied.

    filters: status (one or a list), category, risk_level, round (pk), area (code prefix),
    mine (recorded by the user), q (description / address, or the dispute number).
    """
    qs = Dispute.objects.filter(dispute_scope_q(user)).select_related("cell", "round")
    f = filters or {}
    if f.get("status"):
        qs = qs.filter(status__in=f["status"] if isinstance(f["status"], list) else [f["status"]])
    for key in ("category", "risk_level"):
        if f.get(key):
            qs = qs.filter(**{key: f[key]})
    if f.get("round"):
        qs = qs.filter(round_id=getattr(f["round"], "pk", f["round"]))
    if f.get("area"):
        qs = qs.filter(area_code__startswith=f["area"])
    if f.get("mine"):
        qs = qs.filter(recorded_by=user)
    if f.get("q"):
        text = str(f["q"]).strip()
        match = Q(description__icontains=text) | Q(address__icontains=text)
        if text.lstrip("#").isdigit():
            match |= Q(pk=int(text.lstrip("#")))
        qs = qs.filter(match)
    return qs


def dispute_get(user, pk) -> Dispute:
    """One dispute in the user's scope, else 404."""
    try:
        return dispute_list(user).get(pk=pk)
    except (Dispute.DoesNotExist, ValueError, TypeError) as e:
        raise Http404 from e


def round_list(user) -> QuerySet[ScreeningRound]:
    """Screening rounds covering the user's areas or lying under them (open ones first)."""
    open_first = Case(When(status=ScreeningRound.Status.OPEN, then=0), default=1)
    return ScreeningRound.objects.filter(round_scope_q(user)).order_by(
        open_first, "-period_start", "-pk"
    )


def round_get(user, pk) -> ScreeningRound:
    try:
        return round_list(user).get(pk=pk)
    except (ScreeningRound.DoesNotExist, ValueError, TypeError) as e:
        raise Http404 from e


# --- Mediation cases -----------------------------------------------------------------------------


def mediation_list(user, filters: dict | None = None) -> QuerySet[MediationCase]:
    """Mediation cases in the user's scope, with the list filters applied.

    filters: status (one or a list), type, committee (pk), overdue (open past target_due),
    mine (the user is one of the mediators), q (case number or summary).
    """
    qs = MediationCase.objects.filter(mediation_scope_q(user)).select_related(
        "committee", "dispute", "petition"
    )
    f = filters or {}
    if f.get("status"):
        qs = qs.filter(status__in=f["status"] if isinstance(f["status"], list) else [f["status"]])
    if f.get("type"):
        qs = qs.filter(type=f["type"])
    if f.get("committee"):
        qs = qs.filter(committee_id=getattr(f["committee"], "pk", f["committee"]))
    if f.get("overdue"):
        today = deadlines.local_date(timezone.now())
        qs = qs.filter(status__in=("accepted", "in_progress"), target_due__lt=today)
    if f.get("mine"):
        mine = MediationCase.mediators.through.objects.filter(user=user)
        qs = qs.filter(pk__in=mine.values("mediationcase_id"))
    if f.get("q"):
        text = str(f["q"]).strip()
        qs = qs.filter(Q(case_no__icontains=text) | Q(summary__icontains=text))
    return qs


def mediation_get(user, pk) -> MediationCase:
    """One mediation case in the user's scope, else 404."""
    try:
        return mediation_list(user).get(pk=pk)
    except (MediationCase.DoesNotExist, ValueError, TypeError) as e:
        raise Http404 from e
