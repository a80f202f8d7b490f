"""The one scoping mechanism (SPEC §6): what a user may see and do, from their grants.

Selectors call `area_q()` / `petition_scope_q()` to filter querysets; anything outside the result
is answered with 404 by the views (existence is not disclosed). Writes check `can()` as well.
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.db.models import Q

from accounts.models import Grant, Role

# Who may take which petition step (SPEC §6 "may change").
ACTION_ROLES: dict[str, set[str]] = {
    "register": {Role.ADMIN, Role.BUREAU, Role.STREET_CLERK, Role.COMMUNITY_STAFF},
    "route": {Role.ADMIN, Role.BUREAU, Role.STREET_CLERK},
    "notify": {Role.ADMIN, Role.BUREAU, Role.STREET_CLERK},
    "object": {Role.HANDLING_UNIT},
    "objection_resolve": {Role.ADMIN, Role.BUREAU, Role.STREET_CLERK},
    "assign_handler": {Role.ADMIN, Role.BUREAU, Role.STREET_CLERK, Role.HANDLING_UNIT},
    "note": {Role.ADMIN, Role.BUREAU, Role.STREET_CLERK, Role.HANDLING_UNIT},
    "extend": {Role.ADMIN, Role.BUREAU, Role.STREET_CLERK, Role.HANDLING_UNIT},
    "reply": {Role.ADMIN, Role.BUREAU, Role.STREET_CLERK, Role.HANDLING_UNIT},
    "review": {Role.ADMIN, Role.BUREAU},
    "close": {Role.ADMIN, Role.BUREAU, Role.STREET_CLERK},
    # Staff record a rating the petitioner gave on paper or by phone.
    "evaluate": {Role.ADMIN, Role.BUREAU, Role.STREET_CLERK},
    "supervise": {Role.ADMIN, Role.BUREAU},
    "relocate": {Role.ADMIN, Role.BUREAU, Role.STREET_CLERK},
    "link_repeat": {Role.ADMIN, Role.BUREAU, Role.STREET_CLERK, Role.COMMUNITY_STAFF},
    "visit": {Role.ADMIN, Role.BUREAU, Role.STREET_CLERK},
    "reveal": {Role.ADMIN, Role.BUREAU, Role.STREET_CLERK},
}
# Roles that see petitioners' personal data (masked unless they may also reveal).
PERSONAL_DATA_ROLES = {
    Role.ADMIN,
    Role.BUREAU,
    Role.STREET_CLERK,
    Role.COMMUNITY_STAFF,
    Role.HANDLING_UNIT,
}


def grants(user) -> list[Grant]:
    """The user's grants, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_civicgrid_grants", None)
    if cached is None:
        cached = list(Grant.objects.filter(user=user).select_related("organization"))
        if user.is_superuser and not any(g.role == Role.ADMIN for g in cached):
            cached.append(Grant(user=user, role=Role.ADMIN))
        user._civicgrid_grants = cached
    return cached


def roles(user) -> set[str]:
    return {g.role for g in grants(user)}


def is_admin(user) -> bool:
    return Role.ADMIN in roles(user)


def area_codes(user, role_set: set[str]) -> list[str]:
    return [g.area_code for g in grants(user) if g.role in role_set and g.area_code]


def _prefix_q(field: str, codes: list[str]) -> Q | None:
    qs = [Q(**{f"{field}__startswith": c}) for c in codes]
    return reduce(or_, qs) if qs else None


def petition_scope_q(user) -> Q:
    """Petitions the user may see; Q(pk__in=[]) when none."""
    if is_admin(user):
        return Q()
    parts: list[Q] = []
    area_roles = {
        Role.BUREAU,
        Role.STREET_CLERK,
        Role.COMMUNITY_STAFF,
        Role.LEADER,
        Role.GRID_WORKER,
    }
    q = _prefix_q("area_code", area_codes(user, area_roles))
    if q is not None:
        parts.append(q)
    if Role.GRID_WORKER in roles(user):
        from grid.models import Generation, GridAssignment

        cells = GridAssignment.objects.filter(
            user=user, cell__generation__status=Generation.Status.ACTIVE
        ).values_list("cell__code", flat=True)
        parts.append(Q(area_code__in=list(cells)))
    units = [
        g.organization_id
        for g in grants(user)
        if g.role == Role.HANDLING_UNIT and g.organization_id
    ]
    if units:
        parts.append(Q(handling_unit_id__in=units))
    return reduce(or_, parts) if parts else Q(pk__in=[])


def can(user, action: str, petition=None) -> bool:
    """Role right for an action (jurisdiction is checked by fetching through a selector)."""
    allowed = ACTION_ROLES.get(action, set())
    if not roles(user) & allowed:
        return False
    if petition is not None and action in ("object",):
        units = {g.organization_id for g in grants(user) if g.role == Role.HANDLING_UNIT}
        return petition.handling_unit_id in units
    return True


def sees_personal_data(user) -> bool:
    return bool(roles(user) & PERSONAL_DATA_ROLES)


def may_reveal(user) -> bool:
    return can(user, "reveal")
