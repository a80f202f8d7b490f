"""Reads of the api app."""

from __future__ import annotations

from api.models import ApiToken
from api.services import key_hash


def api_token_get_by_key(key: str) -> ApiToken | None:
    """The token with this key (revoked and expired ones included: the caller says why not)."""
    return ApiToken.objects.select_related("user").filter(key_hash=key_hash(key)).first()
