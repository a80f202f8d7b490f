"""Finding petitioners by identity number or phone: exact match through the blind indexes
(Petitioner.id_hash / phone_hash), never by decrypting rows, and only within the user's scope."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.scoping import petition_scope_q, sees_personal_data
from petitions.models import Petition, Petitioner


def petitioner_find(
    user, id_number: str | None = None, phone: str | None = None
) -> QuerySet[Petitioner]:
    """Petitioners of petitions in the user's scope whose identity number and/or phone equal the
    given ones (both given: both must match). Nothing for roles that see no personal data, and
    nothing when neither value is given. Rows carry the values masked only by their display."""
    id_hash = Petitioner._meta.get_field("id_hash").hash_of(id_number or "")
    phone_hash = Petitioner._meta.get_field("phone_hash").hash_of(phone or "")
    # An empty hash would match every row without that value: blank input finds nothing.
    if not sees_personal_data(user) or (id_number and not id_hash) or (phone and not phone_hash):
        return Petitioner.objects.none()
    if not (id_hash or phone_hash):
        return Petitioner.objects.none()
    qs = Petitioner.objects.filter(
        petition__in=Petition.objects.filter(petition_scope_q(user)).values("pk")
    )
    if id_hash:
        qs = qs.filter(id_hash=id_hash)
    if phone_hash:
        qs = qs.filter(phone_hash=phone_hash)
    return qs.select_related("petition").order_by("-petition__received_at", "pk")
