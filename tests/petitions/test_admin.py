"""The petitions admin: every page renders for the admin; reference data is editable; cases and
what the workflow writes are view-only (the admin never bypasses the services)."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from petitions.models import (
    CalendarDay,
    Category,
    Document,
    DocumentTemplate,
    Petition,
    PetitionEvent,
    ReceptionDay,
    SupervisionOrder,
    Visit,
)
from petitions.services import workflow as wf
from petitions.services.attachments import attachment_add
from petitions.services.intake import petition_link_repeat
from petitions.services.visits import reception_day_create, visit_record
from tests.petitions.conftest import bj

pytestmark = pytest.mark.django_db

MODELS = [
    "organization",
    "category",
    "calendarday",
    "documenttemplate",
    "petition",
    "petitioner",
    "petitionevent",
    "document",
    "attachment",
    "repeatsubmission",
    "supervisionorder",
    "receptionday",
    "visit",
]
VIEW_ONLY = [
    "petition",
    "petitioner",
    "petitionevent",
    "document",
    "attachment",
    "repeatsubmission",
    "supervisionorder",
    "receptionday",
    "visit",
]


@pytest.fixture
def data(register, clerk, bureau_user, leader, office, settings, tmp_path):
    """One of everything, made by the services."""
    settings.MEDIA_ROOT = tmp_path
    p = register().petition
    p = wf.petition_route(petition=p, actor=clerk, decision="accept", now=bj(2026, 3, 3, 9))
    wf.petition_notify(petition=p, actor=clerk, now=bj(2026, 3, 4, 9))
    wf.petition_supervise(petition=p, actor=bureau_user, reason="群众反映强烈")
    attachment_add(
        petition=p, actor=clerk, upload=SimpleUploadedFile("来信.txt", "来信内容".encode())
    )
    petition_link_repeat(petition=p, actor=clerk, channel="visit", received_at=bj(2026, 3, 5, 9))
    day = reception_day_create(
        actor=clerk, leader=leader, date=dt.date(2026, 3, 2), place="接待大厅", organization=office
    )
    for n in (1, 7):
        visit_record(
            actor=clerk,
            organization=office,
            received_at=bj(2026, 3, 2, 9),
            headcount=n,
            representatives=["甲"] if n > 5 else [],
            answered_on_spot=n == 1,
            petitions=[p],
            reception_day=day,
        )
    DocumentTemplate.objects.create(
        kind="opinion", title="处理意见书", body="<p>{{ petition }}</p>"
    )
    return p


@pytest.mark.parametrize("model", MODELS)
def test_changelist_and_change_page_render_for_the_admin(admin_client, data, model):
    response = admin_client.get(reverse(f"admin:petitions_{model}_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1

    obj = response.context["cl"].result_list[0]
    page = admin_client.get(reverse(f"admin:petitions_{model}_change", args=[obj.pk]))
    assert page.status_code == 200


def test_reception_day_list_shows_its_figures(admin_client, data):
    response = admin_client.get(reverse("admin:petitions_receptionday_changelist"))
    assert "2 批 8 人次，当场答复 1 件，结案息访 0 件" in response.content.decode()


def test_petition_search_and_filters(admin_client, data):
    url = reverse("admin:petitions_petition_changelist")
    assert admin_client.get(url, {"q": "物业"}).context["cl"].result_count == 1
    assert admin_client.get(url, {"q": "XF-210204-2026-000001"}).context["cl"].result_count == 1
    assert admin_client.get(url, {"q": "征地"}).context["cl"].result_count == 0
    assert admin_client.get(url, {"status__exact": "handling"}).context["cl"].result_count == 1
    assert admin_client.get(url, {"status__exact": "closed"}).context["cl"].result_count == 0


@pytest.mark.parametrize("model", VIEW_ONLY)
def test_workflow_records_are_view_only(admin_client, data, model):
    obj = (
        admin_client.get(reverse(f"admin:petitions_{model}_changelist"))
        .context["cl"]
        .result_list[0]
    )
    change_url = reverse(f"admin:petitions_{model}_change", args=[obj.pk])
    page = admin_client.get(change_url)
    assert page.context["has_change_permission"] is False
    assert page.context["has_delete_permission"] is False
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.get(reverse(f"admin:petitions_{model}_add")).status_code == 403
    assert admin_client.post(change_url, {}).status_code == 403
    delete_url = reverse(f"admin:petitions_{model}_delete", args=[obj.pk])
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403


def test_petition_change_is_not_allowed(admin_client, data):
    before = Petition.objects.values().get(pk=data.pk)
    events = PetitionEvent.objects.count()
    response = admin_client.post(
        reverse("admin:petitions_petition_change", args=[data.pk]),
        {"status": "closed", "handle_due": "2030-01-01", "summary": "改过"},
    )
    assert response.status_code == 403
    assert Petition.objects.values().get(pk=data.pk) == before
    assert PetitionEvent.objects.count() == events
    # The query code's hash and the intake token are not shown at all.
    page = admin_client.get(reverse("admin:petitions_petition_change", args=[data.pk]))
    assert data.query_code_hash not in page.content.decode()


def test_holiday_calendar_is_editable(admin_client):
    response = admin_client.post(
        reverse("admin:petitions_calendarday_add"),
        {"date": "2027-10-01", "kind": "holiday", "name": "国庆节"},
    )
    assert response.status_code == 302
    assert CalendarDay.objects.get(date=dt.date(2027, 10, 1)).name == "国庆节"


def test_category_parent_must_be_top_level(admin_client):
    child = Category.objects.get(code="0501")
    response = admin_client.post(
        reverse("admin:petitions_category_add"),
        {"parent": child.pk, "code": "050101", "name": "三级分类", "sort": 0},
    )
    assert response.status_code == 200
    # Only top-level categories are offered as parents (two levels).
    assert list(response.context["adminform"].form.errors) == ["parent"]
    assert not Category.objects.filter(code="050101").exists()
    assert child not in response.context["adminform"].form.fields["parent"].queryset

    top = Category.objects.get(code="05")
    response = admin_client.post(
        reverse("admin:petitions_category_add"),
        {"parent": top.pk, "code": "0509", "name": "电梯维修", "is_public": "on", "sort": 9},
    )
    assert response.status_code == 302
    assert Category.objects.get(code="0509").parent == top


def test_document_template_admin_checks_syntax_and_lists_variables(admin_client):
    add_url = reverse("admin:petitions_documenttemplate_add")
    page = admin_client.get(add_url).content.decode()
    assert "petition.receipt_no" in page
    assert "petitioners" in page

    response = admin_client.post(
        add_url, {"kind": "opinion", "title": "处理意见书", "body": "{% if %}坏模板"}
    )
    assert response.status_code == 200
    assert "模板语法错误" in response.content.decode()
    assert not DocumentTemplate.objects.exists()

    response = admin_client.post(
        add_url, {"kind": "opinion", "title": "处理意见书", "body": "<p>{{ petition.summary }}</p>"}
    )
    assert response.status_code == 302
    template = DocumentTemplate.objects.get()
    page = admin_client.get(
        reverse("admin:petitions_documenttemplate_change", args=[template.pk])
    ).content.decode()
    assert "内置模板" in page
    assert "处理意见：" in page  # the built-in opinion template shown for reference


def test_admin_pages_need_staff(client, clerk, data):
    client.force_login(clerk)
    response = client.get(reverse("admin:petitions_petition_changelist"))
    assert response.status_code == 302


def test_models_are_all_registered():
    from django.contrib import admin

    registered = {
        m._meta.model_name for m in admin.site._registry if m._meta.app_label == "petitions"
    }
    assert set(MODELS) <= registered
    assert {Document, SupervisionOrder, ReceptionDay, Visit} <= set(admin.site._registry)
