from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class TransitionNotAllowed(ValidationError):
    """The step is not allowed from the case's current status (or past its statutory window)."""


class Conflict(ValidationError):
    """Someone else changed the case first (optimistic version check)."""

    def __init__(self):
        super().__init__(_("该信访事项已被他人修改，请刷新后重试。"), code="conflict")
