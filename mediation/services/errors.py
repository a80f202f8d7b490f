"""Errors of the mediation services.

Both subclass the petitions' errors (themselves django ValidationErrors), so a view or API that
already turns petitions' TransitionNotAllowed / Conflict into a message handles these as well.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from petitions.services import errors as petition_errors


class TransitionNotAllowed(petition_errors.TransitionNotAllowed):
    """The step is not allowed in the record's current status (or past its statutory window)."""


class Conflict(petition_errors.Conflict):
    """Someone else changed the record first (optimistic version check)."""

    def __init__(self):
        ValidationError.__init__(self, _("该记录已被他人修改，请刷新后重试。"), code="conflict")
