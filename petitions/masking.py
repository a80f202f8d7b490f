"""Masked display of personal data (SPEC §7): `2102**********123X`, `138****5678`; by default
everywhere — the full values only through accounts.services.personal_data_reveal."""


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


# The names the access-control issue uses; the same functions.
mask_id = mask_id_number


def petitioner_display(user, petitioner) -> dict | None:
    """A petitioner as the user may see them by default: None for roles that see no personal
    data (leader, grid worker, mediator), masked identity number and phone for the others. The
    full values only ever come from accounts.services.personal_data_reveal (logged)."""
    from accounts.scoping import may_reveal, sees_personal_data

    if not sees_personal_data(user):
        return None
    return {
        "pk": petitioner.pk,
        "name": petitioner.name,
        "id_number": mask_id_number(petitioner.id_number),
        "phone": mask_phone(petitioner.phone),
        "address": petitioner.address,
        "is_representative": petitioner.is_representative,
        "may_reveal": may_reveal(user) and bool(petitioner.id_number or petitioner.phone),
    }
