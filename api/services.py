"""API tokens and idempotency records: every write goes through here."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from api.models import ApiToken, IdempotencyRecord

KEY_PREFIX = "cg_"
# last_used_at is written at most once a minute per token, not on every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def key_hash(key: str) -> str:
    """Keys are 240-bit random strings, so a plain SHA-256 is enough (no salt or stretching)."""
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_issue(
    *, user, name: str, expires_at: dt.datetime | None = None, actor=None
) -> tuple[ApiToken, str]:
    """Issue a token for `user`; returns it with the key, which is never shown again."""
    key = KEY_PREFIX + secrets.token_urlsafe(30)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[:10],
        key_hash=key_hash(key),
        expires_at=expires_at,
        created_by=actor,
    )
    return token, key


def api_token_revoke(*, token: ApiToken, at: dt.datetime | None = None) -> ApiToken:
    """Revoke a token (idempotent: a revoked token keeps its first revocation time)."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=at or timezone.now()
    )
    token.refresh_from_db(fields=["revoked_at"])
    return token


def api_token_touch(*, token: ApiToken, now: dt.datetime) -> None:
    """Record the use of a token, at most once per LAST_USED_RESOLUTION."""
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def idempotency_sweep(*, now: dt.datetime | None = None) -> int:
    """Delete the records older than IDEMPOTENCY_TTL; returns how many were deleted."""
    cutoff = (now or timezone.now()) - settings.IDEMPOTENCY_TTL
    with transaction.atomic():
        deleted, _per_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
