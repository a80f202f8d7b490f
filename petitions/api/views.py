"""Petitions API: thin views that validate input, call selectors and services, and render.

Every case is fetched through petitions.selectors (outside the user's grants → 404); a role
without the right to an action gets 403; a step the transition map forbids now, or a stale
`version`, gets 409. Errors are in the API's one shape (api.exceptions) with the services'
field keys; the services' own exceptions are translated there.
"""

from __future__ import annotations

import inspect
import json

from django.contrib.gis.geos import Point
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.scoping import can
from api.exceptions import validation_error
from api.idempotency import idempotent
from api.ordering import ordered
from api.pagination import GEOJSON_PAGE_PARAMETERS, feature_collection
from api.renderers import GEOJSON_RENDERERS
from api.schema import geojson_responses
from grid.coords import to_wgs84
from petitions.api import serializers as s
from petitions.models import Petition
from petitions.selectors import petition_get, petition_list
from petitions.selectors_visits import (
    petition_detail_get,
    petition_map_list,
    reception_day_get,
    reception_day_list,
    user_organization_list,
    visit_get,
    visit_list,
)
from petitions.services import workflow as wf
from petitions.services.errors import Conflict
from petitions.services.intake import (
    petition_link_repeat,
    petition_register,
    petition_repeat_candidates,
)

FORBIDDEN = _("您的角色无权执行此操作。")
# Error responses (400, 401, 403, 404, 409, …) are documented for every operation by
# api.schema.postprocess, in the one error shape.


def _validated(serializer_class, data):
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise validation_error(serializer.errors)
    return serializer


def _require(user, right: str, petition: Petition | None = None) -> None:
    if not can(user, right, petition):
        raise PermissionDenied(FORBIDDEN)


def _organization(user, requested):
    """The organisation the user acts for: the one asked for (if theirs), else their only one."""
    mine = user_organization_list(user)
    if requested is not None:
        if not mine.filter(pk=requested.pk).exists():
            raise validation_error({"organization": [_("您不属于该单位。")]})
        return requested
    first_two = list(mine[:2])
    if not first_two:
        raise validation_error({"organization": [_("您的账号未关联任何单位。")]})
    if len(first_two) > 1:
        raise validation_error({"organization": [_("您属于多个单位，请指定单位。")]})
    return first_two[0]


def _detail(request, pk: int) -> dict:
    petition = petition_detail_get(request.user, pk)
    return s.PetitionDetailSerializer(petition, context={"request": request}).data


# --- Cases ------------------------------------------------------------------------------------


class PetitionListApi(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = s.PetitionListSerializer

    def get_queryset(self):
        params = _validated(s.PetitionListQuerySerializer, self.request.query_params)
        qs = petition_list(self.request.user, filters=params.filters())
        return ordered(qs, s.ORDERING, params.validated_data["ordering"])

    @extend_schema(
        operation_id="petitions_list",
        summary=_("信访事项列表"),
        description=_("辖区内的信访事项，可筛选、排序、分页；不含信访人个人信息。"),
        parameters=[s.PetitionListQuerySerializer],
        responses={200: s.PetitionListSerializer(many=True)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="petitions_register",
        summary=_("登记信访事项"),
        description=_(
            "登记一件信访事项并返回信访编号和查询码（查询码只返回这一次）。同一 "
            "Idempotency-Key（或 intake_token）重复提交时返回已登记的事项（200，不含查询码）。"
        ),
        request=s.PetitionRegisterSerializer,
        responses={
            201: s.RegisteredSerializer,
            200: s.RegisteredSerializer,
        },
    )
    @idempotent
    def post(self, request, *args, **kwargs):
        _require(request.user, "register")
        data = _validated(s.PetitionRegisterSerializer, request.data).validated_data
        token = data.get("intake_token")
        lng, lat = data.get("lng"), data.get("lat")
        result = petition_register(
            actor=request.user,
            organization=_organization(request.user, data.get("organization")),
            channel=data["channel"],
            source=data["source"],
            received_at=data.get("received_at"),
            case_type=data["case_type"],
            category=data["category"],
            summary=data["summary"],
            content=data["content"],
            address=data["address"],
            location=(lng, lat) if lng is not None else None,
            crs=data["crs"],
            anonymous=data["anonymous"],
            petitioners=[dict(row) for row in data.get("petitioners", [])],
            cell=data.get("cell"),
            cell_override_reason=data["cell_override_reason"],
            # Namespaced by user: one user's key can never return another user's case.
            intake_token=f"api:{request.user.pk}:{token}" if token else None,
        )
        body = {"id": result.petition.pk, "receipt_no": result.petition.receipt_no}
        if not result.created:
            return Response(body, status=200)
        response = Response({**body, "query_code": result.query_code}, status=201)
        # The query code is shown once and stored only hashed: an Idempotency-Key replay
        # answers like an intake_token repeat (200 without it), never from a stored copy.
        response.idempotent_replay = (200, body)
        return response


class PetitionDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="petitions_detail",
        summary=_("信访事项详情"),
        description=_(
            "内容、位置、信访人（脱敏；无权查看个人信息的角色为 null）、办理记录、文书，"
            "以及当前用户现在可执行的操作。"
        ),
        responses={200: s.PetitionDetailSerializer},
    )
    def get(self, request, pk: int):
        return Response(_detail(request, pk))


class PetitionGeoJsonApi(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = GEOJSON_RENDERERS

    @extend_schema(
        operation_id="petitions_geojson",
        summary=_("信访事项地图 GeoJSON"),
        description=_(
            "辖区内、按条件筛选的有位置的信访事项（FeatureCollection）；"
            "检举控告类仅对可查看个人信息的角色显示。"
        ),
        parameters=[s.PetitionGeoQuerySerializer, *GEOJSON_PAGE_PARAMETERS],
        responses=geojson_responses(_("GeoJSON 要素集合")),
    )
    def get(self, request):
        params = _validated(s.PetitionGeoQuerySerializer, request.query_params)
        rows = petition_map_list(
            request.user, filters=params.filters(), bbox=params.validated_data.get("bbox")
        )
        text = feature_collection(self, rows, _features)
        return HttpResponse(text, content_type="application/geo+json")


def _features(rows) -> list[str]:
    """Splice the database's GeoJSON geometry text into features without parsing it."""
    features = []
    for pk, receipt_no, status_, case_type, category, cell_code, geometry in rows:
        props = json.dumps(
            {
                "id": pk,
                "receipt_no": receipt_no,
                "status": status_,
                "case_type": case_type,
                "category": category,
                "cell_code": cell_code,
            },
            ensure_ascii=False,
        )
        features.append(
            f'{{"type":"Feature","id":{pk:d},"properties":{props},"geometry":{geometry}}}'
        )
    return features


class PetitionRepeatCandidatesApi(generics.GenericAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = s.RepeatCandidateSerializer

    @extend_schema(
        operation_id="petitions_repeat_candidates",
        summary=_("疑似重复信访"),
        description=_(
            "近12个月内未办结、可能是同一事项的信访：同一信访人，或同一分类且相距200米以内。"
        ),
        parameters=[s.RepeatQuerySerializer],
        responses={
            200: s.RepeatCandidateSerializer(many=True),
        },
    )
    def get(self, request):
        _require(request.user, "register")
        data = _validated(s.RepeatQuerySerializer, request.query_params).validated_data
        location = None
        if data.get("lng") is not None:
            location = Point(*to_wgs84(data["lng"], data["lat"], data["crs"]), srid=4326)
        found = petition_repeat_candidates(
            id_numbers=data.get("id_number", []),
            category=data.get("category"),
            location=location,
        )
        visible = set(
            petition_list(request.user)
            .filter(pk__in=[p.pk for p, _r in found])
            .values_list("pk", flat=True)
        )
        rows = [{"petition": p, "reasons": r} for p, r in found if p.pk in visible]
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(s.RepeatCandidateSerializer(page, many=True).data)


# --- One endpoint per workflow step -----------------------------------------------------------


def _call(service, petition: Petition, version: int | None, **kwargs):
    """Call a workflow service, honouring the client's `version` (optimistic locking)."""
    if version is None:
        return service(petition=petition, **kwargs)
    if "expected_version" in inspect.signature(service).parameters:
        return service(petition=petition, expected_version=version, **kwargs)
    # Services without `expected_version` yet: lock the row and compare in one transaction; the
    # service locks the same row again inside it.
    with transaction.atomic():
        current = Petition.objects.select_for_update().values_list("version", flat=True)
        if current.get(pk=petition.pk) != version:
            raise Conflict()
        return service(petition=petition, **kwargs)


class PetitionActionApi(APIView):
    """POST one workflow step; answers with the case's detail representation."""

    permission_classes = [IsAuthenticated]
    action_name = ""
    input_serializer = s.ActionSerializer
    service = None

    def post(self, request, pk: int, action: str | None = None):
        petition = petition_get(request.user, pk)
        right, _transitions = s.ACTION_RIGHTS[self.action_name]
        _require(request.user, right, petition)
        data = dict(_validated(self.input_serializer, request.data).validated_data)
        version = data.pop("version", None)
        _call(type(self).service, petition, version, actor=request.user, **data)
        return Response(_detail(request, pk))


# action → (body, service, summary). Body field names are the service's keyword arguments.
ACTIONS = {
    "route": (s.RouteSerializer, wf.petition_route, _("受理、转送、交办或不予受理")),
    "notify": (s.ActionSerializer, wf.petition_notify, _("书面告知信访人")),
    "object": (s.ObjectSerializer, wf.petition_object, _("承办单位提出异议")),
    "objection-resolve": (
        s.ObjectionResolveSerializer,
        wf.petition_objection_resolve,
        _("核查异议"),
    ),
    "assign-handler": (s.AssignHandlerSerializer, wf.petition_assign_handler, _("指定承办人")),
    "note": (s.NoteSerializer, wf.petition_add_note, _("添加办理记录")),
    "extend": (s.ExtendSerializer, wf.petition_extend, _("延长办理期限")),
    "reply": (s.ReplySerializer, wf.petition_reply, _("出具处理意见书")),
    "evaluate": (s.EvaluateSerializer, wf.petition_evaluate, _("记录信访人评价")),
    "review-request": (s.RequestSerializer, wf.petition_review_request, _("申请复查")),
    "review-answer": (s.AnswerSerializer, wf.petition_review_answer, _("出具复查意见")),
    "rereview-request": (s.RequestSerializer, wf.petition_rereview_request, _("申请复核")),
    "hearing": (s.HearingSerializer, wf.petition_hearing, _("记录听证（不计入复核期限）")),
    "rereview-answer": (s.AnswerSerializer, wf.petition_rereview_answer, _("出具复核意见")),
    "close": (s.ActionSerializer, wf.petition_close, _("办结")),
    "supervise": (s.SuperviseSerializer, wf.petition_supervise, _("督办")),
    "relocate": (s.RelocateSerializer, wf.petition_relocate, _("手动指定网格")),
    "link-repeat": (s.LinkRepeatSerializer, petition_link_repeat, _("关联重复信访")),
}


def _action_api(action: str, body, service, summary) -> type[PetitionActionApi]:
    def post(self, request, pk: int, action: str | None = None):
        return PetitionActionApi.post(self, request, pk, action)

    documented = extend_schema(
        operation_id=f"petitions_{action.replace('-', '_')}",
        summary=summary,
        description=_("成功时返回信访事项详情。"),
        request=body,
        responses={
            200: s.PetitionDetailSerializer,
        },
    )(idempotent(post))
    name = "Petition" + "".join(part.title() for part in action.split("-")) + "Api"
    attrs = {
        "action_name": action,
        "input_serializer": body,
        "service": staticmethod(service),
        "post": documented,
    }
    return type(name, (PetitionActionApi,), attrs)


ACTION_APIS = {action: _action_api(action, *spec) for action, spec in ACTIONS.items()}


# --- Visits and reception days ----------------------------------------------------------------


class VisitListApi(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = s.VisitSerializer

    def get_queryset(self):
        params = _validated(s.VisitListQuerySerializer, self.request.query_params)
        ordering = params.validated_data["ordering"]
        return ordered(visit_list(self.request.user), s.VISIT_ORDERING, ordering)

    @extend_schema(
        operation_id="visits_list",
        summary=_("来访登记列表"),
        description=_("辖区内的来访批次；代表姓名仅对可查看个人信息的角色显示。"),
        parameters=[s.VisitListQuerySerializer],
        responses={200: s.VisitSerializer(many=True)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="visits_record",
        summary=_("来访登记"),
        request=s.VisitInputSerializer,
        responses={201: s.VisitSerializer},
    )
    @idempotent
    def post(self, request, *args, **kwargs):
        from petitions.services.visits import visit_record

        user = request.user
        _require(user, "visit")
        data = _validated(s.VisitInputSerializer, request.data).validated_data
        ids = set(data["petitions"])
        petitions = list(petition_list(user).filter(pk__in=ids))
        if len(petitions) != len(ids):
            raise validation_error({"petitions": [_("所选信访事项不存在或不在辖区内。")]})
        day = None
        if data.get("reception_day"):
            day = reception_day_list(user).filter(pk=data["reception_day"]).first()
            if day is None:
                raise validation_error({"reception_day": [_("领导接访日不存在或不在辖区内。")]})
        visit = visit_record(
            actor=user,
            organization=_organization(user, data.get("organization")),
            received_at=data.get("received_at") or timezone.now(),
            headcount=data["headcount"],
            representatives=data["representatives"],
            answered_on_spot=data["answered_on_spot"],
            resolved=data["resolved"],
            petitions=petitions,
            reception_day=day,
            notes=data["notes"],
        )
        visit = visit_get(user, visit.pk)
        return Response(s.VisitSerializer(visit, context={"request": request}).data, status=201)


class VisitDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="visits_detail",
        summary=_("来访登记详情"),
        responses={200: s.VisitSerializer},
    )
    def get(self, request, pk: int):
        visit = visit_get(request.user, pk)
        return Response(s.VisitSerializer(visit, context={"request": request}).data)


class ReceptionDayListApi(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = s.ReceptionDaySerializer

    def get_queryset(self):
        params = _validated(s.ReceptionDayListQuerySerializer, self.request.query_params)
        ordering = params.validated_data["ordering"]
        return ordered(reception_day_list(self.request.user), s.RECEPTION_DAY_ORDERING, ordering)

    @extend_schema(
        operation_id="reception_days_list",
        summary=_("领导接访日列表"),
        parameters=[s.ReceptionDayListQuerySerializer],
        responses={200: s.ReceptionDaySerializer(many=True)},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        operation_id="reception_days_create",
        summary=_("安排领导接访日"),
        request=s.ReceptionDayInputSerializer,
        responses={201: s.ReceptionDayDetailSerializer},
    )
    @idempotent
    def post(self, request, *args, **kwargs):
        from petitions.services.visits import reception_day_create

        user = request.user
        _require(user, "visit")
        data = _validated(s.ReceptionDayInputSerializer, request.data).validated_data
        day = reception_day_create(
            actor=user,
            leader=data["leader"],
            date=data["date"],
            place=data["place"],
            organization=_organization(user, data.get("organization")),
            leader_title=data["leader_title"],
            notes=data["notes"],
        )
        return Response(_reception_day(request, day.pk), status=201)


def _reception_day(request, pk: int) -> dict:
    from petitions.services.visits import reception_day_summary

    day = reception_day_get(request.user, pk)
    day.summary = reception_day_summary(day)
    return s.ReceptionDayDetailSerializer(day, context={"request": request}).data


class ReceptionDayDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="reception_days_detail",
        summary=_("领导接访日详情"),
        description=_("含接待批次、人次、当场答复、结案息访的统计。"),
        responses={200: s.ReceptionDayDetailSerializer},
    )
    def get(self, request, pk: int):
        return Response(_reception_day(request, pk))
