"""Personal data at rest: Fernet encryption with a key list, and keyed hashes (blind index).

Encryption uses `cryptography`'s Fernet (AES-128-CBC + HMAC-SHA256, authenticated) through
MultiFernet over settings.PERSONAL_DATA_KEYS: the first key encrypts, every key decrypts, so a new
key goes first and the old ones stay until `manage.py accounts_rotate_key` has re-encrypted the
columns. Searching is by exact match through `blind_index` (HMAC-SHA256 under
PERSONAL_DATA_INDEX_KEY), never by decrypting rows.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "InvalidToken",
    "blind_index",
    "decrypt_text",
    "encrypt_text",
    "is_current_token",
    "phone_digits",
    "reencrypt_token",
]


def blind_index(value: str, *, purpose: str = "id") -> str:
    """HMAC-SHA256 of a normalised value under the blind-index key; '' for an empty value."""
    if not value:
        return ""
    key = settings.PERSONAL_DATA_INDEX_KEY.encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def phone_digits(value: str) -> str:
    """A phone number as its digits in domestic form (no +86 / 0086; landlines with their trunk
    0): what its blind index is taken of, so "+86 138 1234 5678" matches "13812345678" and
    "0411-84123456" matches "041184123456" and "+86 411 8412 3456"."""
    digits = re.sub(r"\D", "", value or "")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) >= 12:
        digits = digits[2:]
    else:
        return digits
    return digits if digits[:1] in ("0", "1") else "0" + digits


@lru_cache(maxsize=8)
def _fernets(keys: tuple[str, ...]) -> tuple[Fernet, MultiFernet]:
    if not keys:
        raise ImproperlyConfigured("PERSONAL_DATA_KEYS is empty.")
    fernets = []
    for i, key in enumerate(keys):
        try:
            fernets.append(Fernet(key.encode() if isinstance(key, str) else key))
        except ValueError as e:
            # Never echo the key itself.
            raise ImproperlyConfigured(
                f"PERSONAL_DATA_KEYS[{i}] is not a Fernet key (32 url-safe base64 bytes)."
            ) from e
    return fernets[0], MultiFernet(fernets)


def _current() -> tuple[Fernet, MultiFernet]:
    # Keyed on the tuple so that a changed setting (tests, a reload) takes effect at once.
    return _fernets(tuple(settings.PERSONAL_DATA_KEYS))


def encrypt_text(value: str) -> str:
    """A Fernet token (ASCII) of `value` under the current key."""
    return _current()[1].encrypt(value.encode()).decode("ascii")


def decrypt_text(token: str) -> str:
    """The plaintext of a token made under any configured key; raises InvalidToken otherwise."""
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError as e:  # plaintext that never went through the field
        raise InvalidToken from e
    return _current()[1].decrypt(raw).decode()


def is_current_token(token: str) -> bool:
    """Whether the token was made under the current (first) key."""
    try:
        _current()[0].decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        return False
    return True


def reencrypt_token(token: str) -> str:
    """The same plaintext under the current key (MultiFernet.rotate); raises InvalidToken."""
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError as e:
        raise InvalidToken from e
    return _current()[1].rotate(raw).decode("ascii")
