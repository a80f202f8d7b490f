"""config.pagination.page_by_ids: the same page as Django's Paginator over the same ordered
queryset (order, count, page numbers, last and out-of-range pages), for model rows and for
.values() rows, read in one statement whose subquery picks the page's ids."""

import re

import pytest
from django.core.paginator import Paginator
from django.db.models import F

from config.pagination import page_by_ids
from petitions.models import Category

pytestmark = pytest.mark.django_db


def _ordered():
    # Descending, as the lists (received_at, pk); unique, so pages compare exactly.
    return Category.objects.select_related("parent").order_by("-code")


@pytest.mark.parametrize("number", [1, 2, 3, "last", 99, "x", None])
def test_same_page_as_the_paginator(number):
    assert Category.objects.count() > 20  # the seeded categories: several pages of 7
    want = Paginator(_ordered(), 7).get_page(number)
    got = page_by_ids(_ordered(), number, 7)
    assert [c.pk for c in got] == [c.pk for c in want]
    assert (got.number, got.paginator.count, got.paginator.num_pages) == (
        want.number,
        want.paginator.count,
        want.paginator.num_pages,
    )
    assert got.has_next() == want.has_next() and got.has_previous() == want.has_previous()
    # The rows keep the queryset's joins: no query for the parent.
    assert all(c.parent is None or c.parent.name for c in got)


def test_values_rows_keep_their_fields():
    qs = _ordered().values("pk", "code", parent_name=F("parent__name"))
    got = page_by_ids(qs, 2, 5)
    want = Paginator(qs, 5).get_page(2)
    assert list(got) == list(want)


def test_two_queries_for_the_page_whatever_its_size(django_assert_num_queries):
    total = Category.objects.count()
    with django_assert_num_queries(2) as ctx:  # the count, then the page's rows by its ids
        page = page_by_ids(_ordered(), 1, 50)
        rows = list(page)
    assert len(rows) == min(50, total) and all(c.parent is None or c.parent.name for c in rows)
    page_sql = ctx.captured_queries[1]["sql"]
    # The page's ids by a subquery in the list's order, its LIMIT the page's size (here the
    # whole list, shorter than a page).
    assert re.search(rf"IN \(SELECT .* ORDER BY .* LIMIT {len(rows)}\) ORDER BY", page_sql)


def test_an_empty_list_reads_no_rows(django_assert_num_queries):
    with django_assert_num_queries(1):  # the count only: no page to read
        page = page_by_ids(Category.objects.filter(code="no such code").order_by("pk"), 1, 50)
        assert list(page) == []


def test_rows_read_from_their_own_queryset_join_only_into_the_page(django_assert_num_queries):
    """`rows`: the page's rows read with names by join; the count and the page's ids without."""
    plain = Category.objects.order_by("-code")
    named = plain.annotate(parent_name=F("parent__name"))
    with django_assert_num_queries(2) as ctx:
        got = page_by_ids(plain, 2, 5, rows=named)
        rows = list(got)
    want = Paginator(_ordered(), 5).get_page(2)
    assert [c.pk for c in rows] == [c.pk for c in want]
    assert [c.parent_name for c in rows] == [c.parent.name if c.parent else None for c in want]
    count_sql, page_sql = (q["sql"] for q in ctx.captured_queries)
    assert "JOIN" not in count_sql
    ids_sql = re.search(r"IN \((SELECT .*LIMIT 5 OFFSET 5)\)", page_sql).group(1)
    assert "JOIN" not in ids_sql and "JOIN" in page_sql
