"""Model history where no workflow event exists (SPEC §7): boundaries, users and grants.

Cases, disputes and mediation keep their own event rows; the boundary models (Generation,
District, Street, Community, GridCell, GridAssignment), users and grants get a historical table
each (django-simple-history): one row per create, change and delete with who (the request's user,
bound by simple_history's HistoryRequestMiddleware; empty for management commands and tasks),
when, and a full copy of the tracked fields, so that a change is the diff with the row before.

Bulk paths: the grid importer, generator and demo builder write their areas with
`bulk_create_with_history` (one historical row per area, in the same transaction), and the
derived columns that `areas_finalize` recomputes with a queryset `update()` (geom_simple, area_m2)
are not tracked: they follow from `geom`, which is.
"""

from __future__ import annotations

from simple_history.models import HistoricalRecords

# Columns no history row copies: derived boundary data, and for users the password hash (an old
# hash is an offline-attack target; the row says "password changed" instead) and last_login
# (written on every sign-in, which the login log already records).
AREA_UNTRACKED = ["geom_simple", "area_m2"]
USER_UNTRACKED = ["password", "last_login"]


class ChangeHistory(HistoricalRecords):
    """HistoricalRecords that writes no row for a save touching only untracked columns."""

    def post_save(self, instance, created, using=None, **kwargs):
        fields = kwargs.get("update_fields")
        if not created and fields is not None and not set(fields) - set(self.excluded_fields):
            return
        super().post_save(instance, created, using=using, **kwargs)


def area_history() -> ChangeHistory:
    return ChangeHistory(excluded_fields=AREA_UNTRACKED)


def on_pre_create_historical_record(sender, instance, history_instance, **kwargs) -> None:
    """A user's history row says whether this save set a new password (set_password() keeps the
    raw password in `_password` until AbstractBaseUser.save() has returned)."""
    if hasattr(history_instance, "password_changed"):
        history_instance.password_changed = getattr(instance, "_password", None) is not None


def register_user_history() -> None:
    """The auth User is Django's own: its history table lives in the accounts app."""
    from django.contrib.auth import get_user_model
    from simple_history import register
    from simple_history.signals import pre_create_historical_record

    from accounts.models import UserHistoryFields

    user_model = get_user_model()
    if not hasattr(user_model, "history"):
        register(
            user_model,
            app="accounts",
            manager_name="history",
            records_class=ChangeHistory,
            excluded_fields=USER_UNTRACKED,
            bases=[UserHistoryFields],
        )
    pre_create_historical_record.connect(
        on_pre_create_historical_record, dispatch_uid="accounts.history.password"
    )
