"""Keyed hashes of personal data (blind index) for exact-match search without plaintext."""

import hashlib
import hmac

from django.conf import settings


def blind_index(value: str, *, purpose: str = "id") -> str:
    """HMAC-SHA256 of a normalised value under the blind-index key; '' for an empty value."""
    if not value:
        return ""
    key = settings.PERSONAL_DATA_INDEX_KEY.encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()
