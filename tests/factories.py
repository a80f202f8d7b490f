"""factory_boy factories and a small hand-made hierarchy for tests.

`square(x0, y0, x1, y1)` builds a MultiPolygon in 4326 from lon/lat bounds; `build_hierarchy()`
makes one district (210204) with two streets, each with two communities, each with two cells,
laid out on a regular 0.01° lattice near Dalian so that tests can reason about exact positions.
"""

import factory
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Polygon

from grid.models import Community, District, Generation, GridCell, Street

X0, Y0 = 121.55, 38.90  # south-west corner of the test district
STEP = 0.01


def square(x0: float, y0: float, x1: float, y1: float) -> MultiPolygon:
    ring = ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))
    return MultiPolygon(Polygon(ring, srid=4326), srid=4326)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or "pw-for-tests-1")
        if create:
            self.save(update_fields=["password"])


class GenerationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Generation

    name = factory.Sequence(lambda n: f"第{n}版")


def build_hierarchy(generation: Generation | None = None, *, households: int = 400) -> dict:
    """District 0.04°×0.02°: streets 001/002 side by side (west, east), each 0.02°×0.02° split
    into two communities (north, south), each split into two cells (west, east).

    Returns {"generation", "district", "streets", "communities", "cells"} keyed by code.
    """
    gen = generation or GenerationFactory()
    district = District.objects.create(
        generation=gen,
        code="210204",
        name="沙河口区",
        geom=square(X0, Y0, X0 + 4 * STEP, Y0 + 2 * STEP),
    )
    out = {"generation": gen, "district": district, "streets": {}, "communities": {}, "cells": {}}
    for si in range(2):
        sx = X0 + si * 2 * STEP
        street = Street.objects.create(
            generation=gen,
            district=district,
            parent_code=district.code,
            code=f"210204{si + 1:03d}",
            name=f"测试{si + 1}街道",
            geom=square(sx, Y0, sx + 2 * STEP, Y0 + 2 * STEP),
        )
        out["streets"][street.code] = street
        for ci, (cy, label) in enumerate([(Y0 + STEP, "北"), (Y0, "南")]):
            community = Community.objects.create(
                generation=gen,
                street=street,
                parent_code=street.code,
                code=f"{street.code}{ci + 1:03d}",
                name=f"{street.name}{label}社区",
                geom=square(sx, cy, sx + 2 * STEP, cy + STEP),
            )
            out["communities"][community.code] = community
            for ki in range(2):
                cx = sx + ki * STEP
                cell = GridCell.objects.create(
                    generation=gen,
                    community=community,
                    parent_code=community.code,
                    code=f"{community.code}{ki + 1:03d}",
                    name=f"{community.name}第{ki + 1}网格",
                    geom=square(cx, cy, cx + STEP, cy + STEP),
                    households=households,
                    residents=households * 2,
                )
                out["cells"][cell.code] = cell
    return out
