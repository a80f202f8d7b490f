"""Database constraints on codes: format, parent prefix, per-generation uniqueness, consistency."""

import pytest
from django.db import IntegrityError, transaction

from grid.models import Community, GridCell, Street
from tests.factories import GenerationFactory, build_hierarchy, square

pytestmark = pytest.mark.django_db(transaction=True)


def _fails(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


def test_code_format_is_a_database_constraint():
    h = build_hierarchy()
    d = h["district"]
    _fails(
        lambda: Street.objects.create(
            generation=h["generation"],
            district=d,
            parent_code="210204",
            code="21020401x",
            name="x",
            geom=d.geom,
        )
    )
    _fails(
        lambda: Street.objects.create(
            generation=h["generation"],
            district=d,
            parent_code="210204",
            code="2102040011",
            name="x",
            geom=d.geom,
        )
    )


def test_code_must_extend_parent_code():
    h = build_hierarchy()
    street = h["streets"]["210204001"]
    _fails(
        lambda: Community.objects.create(
            generation=h["generation"],
            street=street,
            parent_code="210204001",
            code="210204002009",
            name="x",
            geom=street.geom,
        )
    )


def test_parent_code_copy_must_match_parent():
    h = build_hierarchy()
    street = h["streets"]["210204001"]
    # parent_code claims street 002 while the foreign key points at street 001
    _fails(
        lambda: Community.objects.create(
            generation=h["generation"],
            street=street,
            parent_code="210204002",
            code="210204002009",
            name="x",
            geom=street.geom,
        )
    )


def test_parent_must_be_in_same_generation():
    h = build_hierarchy()
    other = GenerationFactory()
    community = h["communities"]["210204001001"]
    _fails(
        lambda: GridCell.objects.create(
            generation=other,
            community=community,
            parent_code=community.code,
            code="210204001001009",
            name="x",
            geom=square(0, 0, 1, 1),
        )
    )


def test_codes_unique_per_generation_but_not_across():
    h = build_hierarchy()
    community = h["communities"]["210204001001"]
    _fails(
        lambda: GridCell.objects.create(
            generation=h["generation"],
            community=community,
            parent_code=community.code,
            code="210204001001001",
            name="dup",
            geom=community.geom,
        )
    )
    # the same codes in a second generation are fine
    build_hierarchy(GenerationFactory())
    assert GridCell.objects.filter(code="210204001001001").count() == 2
