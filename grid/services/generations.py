"""Generation life cycle: create a draft, validate, activate (retiring the previous one)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from grid.models import Generation, GenerationEvent


class ActivationRefused(Exception):
    """Raised when a generation cannot be activated (its latest validation report has errors)."""


def generation_create(*, name: str, description: str = "") -> Generation:
    """Create an empty draft generation."""
    return Generation.objects.create(name=name, description=description)


def generation_activate(
    *, generation: Generation, actor=None, force: bool = False, reason: str = "", at=None
) -> Generation:
    """Make a draft generation the active one; refuse if it has validation errors unless forced.

    The whole generation is validated again here (a fresh, stored report), so a clean import of
    one level can never hide errors left by another.

    The previous active generation is retired at the same instant, so every moment in time maps to
    exactly one generation (lookups `at` a past date rely on this).
    """
    from grid.services.validation import generation_validate

    at = at or timezone.now()
    if generation.status != Generation.Status.DRAFT:
        raise ActivationRefused(_("只有草稿版本可以生效。"))
    report = generation_validate(generation=generation)
    errors = report.error_count
    with transaction.atomic():
        generation = Generation.objects.select_for_update().get(pk=generation.pk)
        if generation.status != Generation.Status.DRAFT:
            raise ActivationRefused(_("只有草稿版本可以生效。"))
        if errors and not force:
            raise ActivationRefused(
                _("校验报告有 %(n)d 个错误，不能生效（可强制生效，将被记录）。") % {"n": errors}
            )
        if force and not reason.strip():
            raise ActivationRefused(_("强制生效必须填写理由。"))
        previous = list(
            Generation.objects.select_for_update().filter(status=Generation.Status.ACTIVE)
        )
        for old in previous:
            old.status = Generation.Status.RETIRED
            old.retired_at = at
            old.save(update_fields=["status", "retired_at"])
            GenerationEvent.objects.create(
                generation=old, actor=actor, action="retire", payload={"replaced_by": generation.pk}
            )
        generation.status = Generation.Status.ACTIVE
        generation.activated_at = at
        generation.save(update_fields=["status", "activated_at"])
        GenerationEvent.objects.create(
            generation=generation,
            actor=actor,
            action="activate",
            forced=bool(force and errors),
            reason=reason,
            payload={
                "report_id": report.pk,
                "errors": errors,
                "retired": [g.pk for g in previous],
            },
        )
    return generation


def generation_at(at=None) -> Generation | None:
    """The generation in force at a moment (default: now, i.e. the active one)."""
    if at is None:
        return Generation.objects.filter(status=Generation.Status.ACTIVE).first()
    return (
        Generation.objects.filter(activated_at__lte=at)
        .exclude(retired_at__lte=at)
        .order_by("-activated_at")
        .first()
    )
