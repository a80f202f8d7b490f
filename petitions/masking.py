"""Masked display of personal data (SPEC §7): `2102**********123X`, `138****5678`."""


def mask_id_number(value: str) -> str:
    """Keep the first 4 and the last 4 characters of an identity number; star the rest."""
    value = (value or "").strip()
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str) -> str:
    """Keep the first 3 and the last 4 characters of a phone number; star the rest."""
    value = (value or "").strip()
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]
