"""petition_page(): the case page's petition, in scope, with everything the page names."""

import datetime as dt

import pytest

from accounts.models import Grant, Role
from accounts.scoping import grants
from petitions.models import Petition
from petitions.selectors import petition_page
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

INSIDE = (121.555, 38.915)  # a point in cell 210204001001001 of the test hierarchy


@pytest.fixture
def full_case(hierarchy, register, unit, clerk):
    """A located case with every relation the page names: category with a parent, cell,
    registering office and clerk, handling unit, handler and extension approver."""
    from grid.models import Generation

    Generation.objects.filter(pk=hierarchy["generation"].pk).update(
        activated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    petition = register(location=INSIDE).petition
    handler = UserFactory(username="handler_wang", first_name="王", last_name="")
    approver = UserFactory(username="approver_li")
    Petition.objects.filter(pk=petition.pk).update(
        handling_unit=unit, handler=handler, extension_approved_by=approver
    )
    return Petition.objects.get(pk=petition.pk)


def _names(p: Petition) -> dict:
    return {
        "category": str(p.category),
        "parent": p.category.parent.name,
        "cell": (p.cell.code, p.cell.name),
        "registered_by_org": p.registered_by_org.name,
        "registered_by": p.registered_by.get_username(),
        "handling_unit": p.handling_unit.name,
        "handler": p.handler.get_username(),
        "extension_approved_by": p.extension_approved_by.get_username(),
    }


def test_names_every_relation_in_three_statements(
    full_case, bureau_user, django_assert_num_queries
):
    grants(bureau_user)  # read once per request, by the middleware before the view
    with django_assert_num_queries(3):  # petition + category, parent, cell; organisations; users
        page = petition_page(bureau_user, full_case.pk)
    with django_assert_num_queries(0):
        names = _names(page)
    assert names == _names(full_case)  # the same rows as reading each relation on its own
    assert names["cell"][0] == "210204001001001"
    assert names["handling_unit"] == "区城建局"
    assert names["registered_by"] == "street_clerk"
    assert names["handler"] == "handler_wang"
    assert names["extension_approved_by"] == "approver_li"
    # The cell's polygons are not read for the page (its map fetches them).
    assert {"geom", "geom_simple"} <= page.cell.get_deferred_fields()


def test_a_case_without_optional_relations_reads_no_more(
    register, bureau_user, django_assert_num_queries
):
    petition = register().petition  # not located, not routed: no cell, unit, handler, approver
    Petition.objects.filter(pk=petition.pk).update(registered_by=None)
    grants(bureau_user)
    with django_assert_num_queries(2):  # no user named: the users' statement is skipped
        page = petition_page(bureau_user, petition.pk)
    with django_assert_num_queries(0):
        assert page.cell is None
        assert page.handling_unit is None
        assert page.handler is None
        assert page.registered_by is None
        assert page.registered_by_org.name == "测试1街道办事处"


def test_outside_the_users_scope_there_is_no_case(register):
    petition = register().petition
    elsewhere = UserFactory(username="bureau_other")
    Grant.objects.create(user=elsewhere, role=Role.BUREAU, area_code="210202")
    assert petition_page(elsewhere, petition.pk) is None
    nobody = UserFactory(username="no_grants")
    assert petition_page(nobody, petition.pk) is None


def test_an_unknown_case_is_none(bureau_user):
    assert petition_page(bureau_user, 987654321) is None
