"""Masked by default, revealed only with the right, in scope and with a reason — and logged
(SPEC §7): petitions:reveal, accounts.services.personal_data_reveal, AccessLog."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.urls import reverse

from accounts.models import AccessLog, Grant, Role
from accounts.services import access_log_record, personal_data_reveal
from petitions.masking import petitioner_display
from petitions.models import Petitioner
from tests.factories import UserFactory
from tests.petitions.conftest import *  # noqa: F403 — office, unit, clerk, register, …
from tests.petitions.conftest import VALID_ID

PHONE = "13812345678"
MASKED_ID = "1101**********002X"
MASKED_PHONE = "138****5678"
REASON = "电话回访前核实身份"


@pytest.fixture
def case(register):
    petition = register().petition
    return petition, petition.petitioners.get()


def granted(username: str, role: str, **where):
    user = UserFactory(username=username)
    Grant.objects.create(user=user, role=role, **where)
    return user


@pytest.fixture
def users(db, clerk, bureau_user, unit_user, admin_user):
    """Every kind of user, by what they may do with the case of 210204001."""
    return {
        "clerk": clerk,
        "bureau": bureau_user,
        "admin": admin_user,
        "leader": granted("leader_u", Role.LEADER, area_code="210204"),
        "grid_worker": granted("grid_u", Role.GRID_WORKER, area_code="210204001"),
        "community_staff": granted("community_u", Role.COMMUNITY_STAFF, area_code="210204001"),
        "other_clerk": granted("other_clerk", Role.STREET_CLERK, area_code="210204002"),
        "unit": unit_user,  # the case is not assigned to its unit
        "mediator": granted("mediator_u", Role.MEDIATOR, area_code="210204001"),
    }


def url(petition, petitioner) -> str:
    return reverse("petitions:reveal", args=[petition.pk, petitioner.pk])


def body(response) -> str:
    return response.content.decode()


# --- Masking per role -----------------------------------------------------------------------------


def test_default_display_per_role(case, users):
    _petition, p = case
    shown = {name: petitioner_display(user, p) for name, user in users.items()}
    masked = {
        "pk": p.pk,
        "name": "张三",
        "id_number": MASKED_ID,
        "phone": MASKED_PHONE,
        "address": "",
        "is_representative": False,
    }
    assert shown == {
        "clerk": {**masked, "may_reveal": True},
        "bureau": {**masked, "may_reveal": True},
        "admin": {**masked, "may_reveal": True},
        "community_staff": {**masked, "may_reveal": False},
        "unit": {**masked, "may_reveal": False},
        "leader": None,
        "grid_worker": None,
        "mediator": None,
        "other_clerk": {**masked, "may_reveal": True},  # scope is the selectors' job (below)
    }


@pytest.mark.parametrize("who", ["clerk", "community_staff"])
def test_case_page_shows_masked_values(client, case, users, who):
    petition, _p = case
    client.force_login(users[who])
    page = body(client.get(reverse("petitions:detail", args=[petition.pk])))
    assert MASKED_ID in page and MASKED_PHONE in page
    assert VALID_ID not in page and PHONE not in page


@pytest.mark.parametrize("who", ["leader", "grid_worker"])
def test_case_page_shows_nothing_of_petitioners(client, case, users, who):
    petition, _p = case
    client.force_login(users[who])
    response = client.get(reverse("petitions:detail", args=[petition.pk]))
    assert response.status_code == 200
    page = body(response)
    for value in (VALID_ID, PHONE, MASKED_ID, MASKED_PHONE, "张三"):
        assert value not in page


# --- The reveal page ----------------------------------------------------------------------------


def test_page_asks_for_a_reason_and_shows_masked_values(client, case, clerk):
    petition, p = case
    client.force_login(clerk)
    response = client.get(url(petition, p))
    assert response.status_code == 200
    page = body(response)
    assert MASKED_ID in page and MASKED_PHONE in page
    assert VALID_ID not in page and PHONE not in page
    assert 'name="reason"' in page
    assert AccessLog.objects.count() == 0


def test_reveal_shows_full_values_once_and_logs_the_reason(client, case, clerk):
    petition, p = case
    client.force_login(clerk)
    response = client.post(url(petition, p), {"reason": f"  {REASON} "})
    assert response.status_code == 200
    page = body(response)
    assert VALID_ID in page and PHONE in page
    assert "no-store" in response["Cache-Control"]
    log = AccessLog.objects.get()
    assert (
        log.user,
        log.username,
        log.action,
        log.content_type,
        log.object_id,
        log.label,
        log.reason,
        log.ip,
        log.detail,
    ) == (
        clerk,
        "street_clerk",
        "reveal",
        ContentType.objects.get_for_model(Petitioner),
        str(p.pk),
        petition.receipt_no,
        REASON,
        "127.0.0.1",
        {"fields": ["id_number", "phone"], "petition": petition.pk},
    )
    # Once: the next visit is masked again and asks again.
    again = body(client.get(url(petition, p)))
    assert VALID_ID not in again and MASKED_ID in again
    assert AccessLog.objects.count() == 1


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_reveal_without_reason_is_refused(client, case, clerk, reason):
    petition, p = case
    client.force_login(clerk)
    response = client.post(url(petition, p), {} if reason is None else {"reason": reason})
    assert response.status_code == 200
    page = body(response)
    assert "请填写查看事由。" in page
    assert VALID_ID not in page and PHONE not in page
    assert AccessLog.objects.count() == 0


def test_overlong_reason_is_refused(client, case, clerk):
    petition, p = case
    client.force_login(clerk)
    page = body(client.post(url(petition, p), {"reason": "因" * 501}))
    assert VALID_ID not in page
    assert AccessLog.objects.count() == 0


@pytest.mark.parametrize("who", ["bureau", "admin"])
def test_bureau_and_admin_may_reveal(client, case, users, who):
    petition, p = case
    client.force_login(users[who])
    page = body(client.post(url(petition, p), {"reason": REASON}))
    assert VALID_ID in page and PHONE in page
    assert list(AccessLog.objects.values_list("user__username", "action")) == [
        (users[who].username, "reveal")
    ]


@pytest.mark.parametrize("who", ["leader", "grid_worker", "community_staff"])
def test_in_scope_without_the_right_is_forbidden(client, case, users, who):
    petition, p = case
    client.force_login(users[who])
    assert client.get(url(petition, p)).status_code == 403
    response = client.post(url(petition, p), {"reason": REASON})
    assert response.status_code == 403
    assert VALID_ID not in body(response)
    assert AccessLog.objects.count() == 0


@pytest.mark.parametrize("who", ["other_clerk", "unit", "mediator"])
def test_out_of_scope_is_not_found(client, case, users, who):
    petition, p = case
    client.force_login(users[who])
    assert client.get(url(petition, p)).status_code == 404
    assert client.post(url(petition, p), {"reason": REASON}).status_code == 404
    assert AccessLog.objects.count() == 0


def test_petitioner_of_another_case_is_not_found(client, case, register, clerk):
    petition, _p = case
    other = register(summary="另一件").petition.petitioners.get()
    client.force_login(clerk)
    assert client.post(url(petition, other), {"reason": REASON}).status_code == 404
    assert AccessLog.objects.count() == 0


def test_anonymous_is_sent_to_login(client, case):
    petition, p = case
    response = client.post(url(petition, p), {"reason": REASON})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("grid:login"))
    assert AccessLog.objects.count() == 0


# --- The service ------------------------------------------------------------------------------------


def test_service_returns_full_values_and_logs(case, clerk):
    petition, p = case
    result = personal_data_reveal(user=clerk, petitioner=p, reason=REASON)
    log = AccessLog.objects.get()
    assert result == {
        "petitioner": p.pk,
        "name": "张三",
        "id_number": VALID_ID,
        "phone": PHONE,
        "log": log.pk,
    }
    assert (log.reason, log.ip) == (REASON, None)


def test_service_refuses_and_logs_nothing(case, users):
    _petition, p = case
    with pytest.raises(ValidationError) as e:
        personal_data_reveal(user=users["clerk"], petitioner=p, reason=" ")
    assert e.value.message_dict == {"reason": ["请填写查看完整个人信息的事由。"]}
    for who in ("leader", "grid_worker", "community_staff"):
        with pytest.raises(PermissionDenied):
            personal_data_reveal(user=users[who], petitioner=p, reason=REASON)
    for who in ("other_clerk", "unit", "mediator"):
        with pytest.raises(Http404):
            personal_data_reveal(user=users[who], petitioner=p, reason=REASON)
    assert AccessLog.objects.count() == 0


# --- The access log ---------------------------------------------------------------------------------


def test_exports_and_downloads_are_logged_without_a_reason(case, clerk, rf):
    petition, _p = case
    request = rf.get("/", REMOTE_ADDR="10.1.2.3")
    export = access_log_record(
        user=clerk, action="export", label="信访事项列表", detail={"rows": 12}, request=request
    )
    download = access_log_record(user=clerk, action="document_download", obj=petition)
    assert (export.label, export.detail, export.ip, export.content_type) == (
        "信访事项列表",
        {"rows": 12},
        "10.1.2.3",
        None,
    )
    assert (download.label, download.object_id, download.reason) == (
        petition.receipt_no,
        str(petition.pk),
        "",
    )


def test_unknown_action_is_a_programming_error(clerk):
    with pytest.raises(ValueError):
        access_log_record(user=clerk, action="peek")


def test_database_refuses_a_reveal_without_reason(clerk):
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessLog.objects.create(user=clerk, username="x", action="reveal", reason="")
    with pytest.raises(IntegrityError), transaction.atomic():
        AccessLog.objects.create(user=clerk, username="x", action="peek", reason="r")
