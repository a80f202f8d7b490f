"""Reads behind the petitions API that petitions.selectors does not cover yet: visits, reception
days, the organisations a user works for, and the map layer of cases. All are filtered by the
user's grants (accounts.scoping); anything outside them is answered with 404.
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.conf import settings
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import Polygon
from django.db.models import Prefetch, Q, QuerySet, prefetch_related_objects
from django.http import Http404

from accounts.scoping import grants, is_admin, petition_scope_q, sees_personal_data
from petitions.models import (
    Document,
    Organization,
    Petition,
    Petitioner,
    PetitionEvent,
    ReceptionDay,
    Visit,
)
from petitions.selectors import petition_get, petition_list

# Organisations whose own area_code says where they serve (an area grant makes you staff there).
AREA_OFFICE_KINDS = (
    Organization.Kind.BUREAU,
    Organization.Kind.STREET_OFFICE,
    Organization.Kind.COMMUNITY,
)
GEOJSON_PRECISION = 7  # decimal places, ~1 cm


def _area_codes(user) -> list[str]:
    return [g.area_code for g in grants(user) if g.area_code]


def _prefix_q(field: str, codes: list[str]) -> Q:
    parts = [Q(**{f"{field}__startswith": c}) for c in codes]
    return reduce(or_, parts) if parts else Q(pk__in=[])


def petition_detail_get(user, pk: int) -> Petition:
    """One case in the user's scope (else 404) with its petitioners, timeline and documents."""
    petition = petition_get(user, pk)
    prefetch_related_objects(
        [petition],
        Prefetch("petitioners", queryset=Petitioner.objects.order_by("pk")),
        Prefetch("events", queryset=PetitionEvent.objects.select_related("actor")),
        Prefetch("documents", queryset=Document.objects.order_by("created_at", "pk")),
    )
    return petition


def visit_list(user) -> QuerySet[Visit]:
    """Visits in the user's areas (admins: all), newest first; linked cases only as far as the
    user may see them."""
    qs = Visit.objects.select_related("organization", "reception_officer", "reception_day")
    if not is_admin(user):
        qs = qs.filter(_prefix_q("area_code", _area_codes(user)))
    visible = Petition.objects.filter(petition_scope_q(user)).only("id", "receipt_no")
    return qs.prefetch_related(Prefetch("petitions", queryset=visible.order_by("pk")))


def visit_get(user, pk: int) -> Visit:
    try:
        return visit_list(user).get(pk=pk)
    except Visit.DoesNotExist as e:
        raise Http404 from e


def reception_day_list(user) -> QuerySet[ReceptionDay]:
    """Reception days organised by an organisation in the user's areas (admins: all). A
    district-wide organisation (no area code) belongs to the district."""
    qs = ReceptionDay.objects.select_related("leader", "organization")
    if is_admin(user):
        return qs
    codes = _area_codes(user)
    q = _prefix_q("organization__area_code", codes)
    district = settings.CIVICGRID_DISTRICT_CODE
    if any(district.startswith(c) for c in codes):
        q |= Q(organization__area_code="")
    return qs.filter(q)


def reception_day_get(user, pk: int) -> ReceptionDay:
    try:
        return reception_day_list(user).get(pk=pk)
    except ReceptionDay.DoesNotExist as e:
        raise Http404 from e


def user_organization_list(user) -> QuerySet[Organization]:
    """Active organisations the user works for: those named in their grants, and the offices
    (bureau, street office, community) of their grants' areas. Admins: every active one."""
    qs = Organization.objects.filter(is_active=True).order_by("pk")
    if is_admin(user):
        return qs
    org_ids = [g.organization_id for g in grants(user) if g.organization_id]
    codes = [g.area_code for g in grants(user) if g.area_code and not g.organization_id]
    return qs.filter(Q(pk__in=org_ids) | Q(area_code__in=codes, kind__in=AREA_OFFICE_KINDS))


def petition_map_list(
    user,
    *,
    filters: dict | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> QuerySet:
    """Located cases for the map, as value rows with their GeoJSON geometry built by the
    database (one query). 检举控告 cases only for users who see personal data."""
    qs = petition_list(user, filters=filters).filter(location__isnull=False)
    if not sees_personal_data(user):
        qs = qs.exclude(case_type=Petition.CaseType.ACCUSATION)
    if bbox is not None:
        box = Polygon.from_bbox(bbox)
        box.srid = 4326
        qs = qs.filter(location__intersects=box)
    return (
        qs.annotate(geojson=AsGeoJSON("location", precision=GEOJSON_PRECISION))
        .order_by("-received_at", "-pk")
        .values_list(
            "id", "receipt_no", "status", "case_type", "category__name", "cell__code", "geojson"
        )
    )
