"""Who may take which mediation step (SPEC §6), for the pages and the API alike.

Jurisdiction is the selectors' job (out of scope is 404 before any of this is asked); these are
the role rights: the screening side records and updates disputes, the mediators' side acts on
cases; leaders only read, handling units have no part here."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.scoping import roles

_SCREENING = frozenset(
    {Role.ADMIN, Role.BUREAU, Role.STREET_CLERK, Role.COMMUNITY_STAFF, Role.GRID_WORKER}
)
_MEDIATION = frozenset({Role.ADMIN, Role.BUREAU, Role.MEDIATOR})
ACTION_ROLES: dict[str, frozenset[str]] = {
    "round_open": _SCREENING - {Role.GRID_WORKER},
    "round_close": _SCREENING - {Role.GRID_WORKER},
    "dispute_record": _SCREENING,
    "dispute_update": _SCREENING,
    "dispute_close": _SCREENING,
    "case": _MEDIATION,  # open a case and every step on it
    # Refer a dispute to a committee (人民调解法 第十八条): the screening side refers the disputes
    # it found, the mediators' side accepts them; either opens the case from the dispute.
    "dispute_mediate": _SCREENING | _MEDIATION,
    # Grid workers visit the parties of disputes in their cells (SPEC §6 "follow-ups").
    "case_follow_up": _MEDIATION | {Role.GRID_WORKER},
}
# Roles that see the parties' names, addresses and who signed (leaders see lists without them).
PERSONAL_DATA_ROLES = _SCREENING | _MEDIATION


def role_rights(user) -> dict[str, bool]:
    """Right → whether one of the user's roles has it: the pages leave out what the roles lack."""
    user_roles = roles(user)
    return {right: bool(user_roles & allowed) for right, allowed in ACTION_ROLES.items()}


def role_require(user, right: str) -> None:
    """403 unless one of the user's roles has `right`."""
    if not roles(user) & ACTION_ROLES[right]:
        raise PermissionDenied(_("您的角色无权执行此操作。"))
