"""Mediation API: thin views that check the role right, fetch through the selectors (404 outside
the user's jurisdiction), validate the body and call one service per action.

Errors are in the API's one shape (api.exceptions): 400 for bad input, 409 for a step the
record's status does not allow now or a concurrent change, 403 for a role without the right.
Every POST honours Idempotency-Key (api.idempotency).
"""

import json

from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db.models import prefetch_related_objects
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.exceptions import ValidationError as DrfValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.scoping import roles
from api.idempotency import idempotent
from api.ordering import ordered
from api.pagination import GEOJSON_PAGE_PARAMETERS, ApiPagination, feature_collection
from api.renderers import GEOJSON_RENDERERS
from api.schema import geojson_responses
from mediation.api import serializers as s
from mediation.rights import PERSONAL_DATA_ROLES, role_require
from mediation.selectors import (
    dispute_get,
    dispute_list,
    mediation_get,
    mediation_list,
    round_get,
    round_list,
)
from mediation.services.cases import (
    agreement_seal,
    agreement_sign,
    confirmation_apply,
    confirmation_decide,
    follow_up_record,
    mediation_agree,
    mediation_assign,
    mediation_open,
    mediation_refuse,
    mediation_session_add,
    mediation_terminate,
)
from mediation.services.errors import TransitionNotAllowed
from mediation.services.screening import (
    dispute_close,
    dispute_record,
    dispute_update,
    round_close,
    round_open,
)
from petitions.selectors import petition_get


class MediationApi(APIView):
    """Base: signed-in users only; the services' errors become 400/409 in api.exceptions."""

    permission_classes = [IsAuthenticated]

    def validated(self, serializer_class, data) -> dict:
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def output_context(self) -> dict:
        user = self.request.user
        return {
            "request": self.request,
            "personal_data": bool(roles(user) & PERSONAL_DATA_ROLES),
        }


class _ListApi(MediationApi):
    pagination_class = ApiPagination

    def paginated(self, queryset, serializer_class) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        data = serializer_class(page, many=True, context=self.output_context()).data
        return paginator.get_paginated_response(data)


def _filters(data: dict) -> dict:
    """Validated query parameters as selector filters (a false `mine`/`overdue` means no filter)."""
    return {
        key: value
        for key, value in data.items()
        if key != "ordering" and value not in (None, "", False)
    }


# --- screening rounds ------------------------------------------------------------------------


class RoundListApi(_ListApi):
    @extend_schema(
        operation_id="mediation_round_list",
        summary=gettext_lazy("排查轮次列表"),
        description=gettext_lazy("未结束的轮次在前，其次按开始日期倒序；可用 ordering 改变。"),
        parameters=[s.RoundListQuerySerializer],
        responses={200: s.ScreeningRoundSerializer(many=True)},
    )
    def get(self, request):
        ordering = self.validated(s.RoundListQuerySerializer, request.query_params).get("ordering")
        rounds = ordered(round_list(request.user), s.ROUND_ORDERING, ordering)
        return self.paginated(rounds, s.ScreeningRoundSerializer)

    @extend_schema(
        operation_id="mediation_round_open",
        summary=gettext_lazy("开启排查轮次"),
        request=s.RoundOpenSerializer,
        responses={201: s.ScreeningRoundSerializer},
    )
    @idempotent
    def post(self, request):
        role_require(request.user, "round_open")
        data = self.validated(s.RoundOpenSerializer, request.data)
        screening_round = round_open(actor=request.user, **data)
        return Response(
            s.ScreeningRoundSerializer(screening_round).data, status=status.HTTP_201_CREATED
        )


class RoundCloseApi(MediationApi):
    @extend_schema(
        operation_id="mediation_round_close",
        summary=gettext_lazy("结束排查轮次"),
        request=s.MediationEmptySerializer,
        responses={200: s.ScreeningRoundSerializer},
    )
    @idempotent
    def post(self, request, pk: int):
        screening_round = round_get(request.user, pk)  # out of scope: 404 whatever the role
        role_require(request.user, "round_close")
        screening_round = round_close(round=screening_round, actor=request.user)
        return Response(s.ScreeningRoundSerializer(screening_round).data)


# --- disputes --------------------------------------------------------------------------------


def _dispute_detail(view: MediationApi, dispute) -> dict:
    prefetch_related_objects([dispute], "cell", "mediation_cases", "events__actor")
    return s.DisputeDetailSerializer(dispute, context=view.output_context()).data


class DisputeListApi(_ListApi):
    @extend_schema(
        operation_id="mediation_dispute_list",
        summary=gettext_lazy("矛盾纠纷列表"),
        description=gettext_lazy("本人辖区内的矛盾纠纷，分页；领导看不到当事人姓名和地址。"),
        parameters=[s.DisputeListQuerySerializer],
        responses={200: s.DisputeSerializer(many=True)},
    )
    def get(self, request):
        params = self.validated(s.DisputeListQuerySerializer, request.query_params)
        queryset = dispute_list(request.user, filters=_filters(params)).select_related("cell")
        ordered_qs = ordered(queryset, s.DISPUTE_ORDERING, params["ordering"])
        return self.paginated(ordered_qs, s.DisputeSerializer)

    @extend_schema(
        operation_id="mediation_dispute_record",
        summary=gettext_lazy("登记矛盾纠纷"),
        description=gettext_lazy(
            "按坐标（lng、lat，crs 为 wgs84、gcj02 或 bd09）定位网格；无坐标时用 area_code。"
        ),
        request=s.DisputeRecordSerializer,
        responses={201: s.DisputeDetailSerializer},
    )
    @idempotent
    def post(self, request):
        role_require(request.user, "dispute_record")
        data = dict(self.validated(s.DisputeRecordSerializer, request.data))
        lng, lat = data.pop("lng", None), data.pop("lat", None)
        round_id = data.pop("round", None)
        screening_round = _referenced(
            round_get, request.user, round_id, "round", _("排查轮次不存在。")
        )
        dispute = dispute_record(
            actor=request.user,
            location=None if lng is None else (lng, lat),
            round=screening_round,
            **data,
        )
        return Response(_dispute_detail(self, dispute), status=status.HTTP_201_CREATED)


class DisputeGeoJsonApi(MediationApi):
    renderer_classes = GEOJSON_RENDERERS

    @extend_schema(
        operation_id="mediation_dispute_geojson",
        summary=gettext_lazy("矛盾纠纷分布 GeoJSON"),
        description=gettext_lazy(
            "本人辖区内有位置的矛盾纠纷（FeatureCollection，WGS-84）；属性只有编号、类别、"
            "风险等级、状态和网格代码，不含当事人信息。"
        ),
        parameters=[s.DisputeFilterSerializer, *GEOJSON_PAGE_PARAMETERS],
        responses=geojson_responses(gettext_lazy("GeoJSON 要素集合")),
    )
    def get(self, request):
        filters = _filters(self.validated(s.DisputeFilterSerializer, request.query_params))
        rows = (
            dispute_list(request.user, filters=filters)
            .filter(location__isnull=False)
            .annotate(geojson=AsGeoJSON("location", precision=7))
            .values_list("id", "category", "risk_level", "status", "cell__code", "geojson")
        )
        text = feature_collection(self, rows.order_by("-found_at", "-pk"), _features)
        return HttpResponse(text, content_type="application/geo+json")


def _features(rows) -> list[str]:
    """Splice the database's geometry text into the features (one query, no parsing)."""
    features = []
    for pk, category, risk_level, dispute_status, cell_code, geometry in rows:
        properties = json.dumps(
            {
                "id": pk,
                "category": category,
                "risk_level": risk_level,
                "status": dispute_status,
                "cell_code": cell_code,
            },
            ensure_ascii=False,
        )
        features.append(
            f'{{"type":"Feature","id":{pk:d},"properties":{properties},"geometry":{geometry}}}'
        )
    return features


class DisputeDetailApi(MediationApi):
    @extend_schema(
        operation_id="mediation_dispute_get",
        summary=gettext_lazy("矛盾纠纷详情"),
        responses={200: s.DisputeDetailSerializer},
    )
    def get(self, request, pk: int):
        return Response(_dispute_detail(self, dispute_get(request.user, pk)))


class DisputeUpdateApi(MediationApi):
    @extend_schema(
        operation_id="mediation_dispute_update",
        summary=gettext_lazy("更新矛盾纠纷"),
        request=s.DisputeUpdateSerializer,
        responses={200: s.DisputeDetailSerializer},
    )
    @idempotent
    def post(self, request, pk: int):
        dispute = dispute_get(request.user, pk)  # out of scope: 404 whatever the role
        role_require(request.user, "dispute_update")
        data = dict(self.validated(s.DisputeUpdateSerializer, request.data))
        expected_version = data.pop("expected_version", None)
        dispute = dispute_update(
            dispute=dispute, actor=request.user, expected_version=expected_version, **data
        )
        return Response(_dispute_detail(self, dispute))


class DisputeCloseApi(MediationApi):
    @extend_schema(
        operation_id="mediation_dispute_close",
        summary=gettext_lazy("矛盾纠纷结果（化解、稳控、未化解、转入其他途径）"),
        request=s.DisputeCloseSerializer,
        responses={200: s.DisputeDetailSerializer},
    )
    @idempotent
    def post(self, request, pk: int):
        dispute = dispute_get(request.user, pk)  # out of scope: 404 whatever the role
        role_require(request.user, "dispute_close")
        data = self.validated(s.DisputeCloseSerializer, request.data)
        dispute = dispute_close(dispute=dispute, actor=request.user, **data)
        return Response(_dispute_detail(self, dispute))


class DisputeMediateApi(MediationApi):
    @extend_schema(
        operation_id="mediation_dispute_mediate",
        summary=gettext_lazy("由矛盾纠纷开启调解案件"),
        request=s.CaseOpenFromDisputeSerializer,
        responses={201: s.MediationCaseDetailSerializer},
    )
    @idempotent
    def post(self, request, pk: int):
        dispute = dispute_get(request.user, pk)  # out of scope: 404 whatever the role
        role_require(request.user, "dispute_mediate")
        data = self.validated(s.CaseOpenFromDisputeSerializer, request.data)
        case = mediation_open(actor=request.user, dispute=dispute, **data)
        return Response(_case_detail(self, case), status=status.HTTP_201_CREATED)


# --- mediation cases -------------------------------------------------------------------------


def _case_detail(view: MediationApi, case) -> dict:
    prefetch_related_objects(
        [case],
        "committee",
        "mediators",
        "parties",
        "sessions",
        "agreement__follow_ups",
        "agreement__confirmation",
        "events__actor",
    )
    return s.MediationCaseDetailSerializer(case, context=view.output_context()).data


def _referenced(getter, user, pk: int | None, field: str, message: str):
    """A record named in the body, through its selector; unknown or out of scope → 400."""
    if pk is None:
        return None
    try:
        return getter(user, pk)
    except Http404:
        raise DrfValidationError({field: [message]}) from None


class CaseListApi(_ListApi):
    @extend_schema(
        operation_id="mediation_case_list",
        summary=gettext_lazy("调解案件列表"),
        parameters=[s.CaseFilterSerializer],
        responses={200: s.MediationCaseSerializer(many=True)},
    )
    def get(self, request):
        params = self.validated(s.CaseFilterSerializer, request.query_params)
        queryset = (
            mediation_list(request.user, filters=_filters(params))
            .select_related("committee", "agreement")
            .prefetch_related("mediators", "parties")
        )
        ordered_qs = ordered(queryset, s.CASE_ORDERING, params["ordering"])
        return self.paginated(ordered_qs, s.MediationCaseSerializer)

    @extend_schema(
        operation_id="mediation_case_open",
        summary=gettext_lazy("受理调解案件"),
        description=gettext_lazy("可关联矛盾纠纷（dispute）或信访事项（petition）。"),
        request=s.CaseOpenSerializer,
        responses={201: s.MediationCaseDetailSerializer},
    )
    @idempotent
    def post(self, request):
        role_require(request.user, "case")
        data = dict(self.validated(s.CaseOpenSerializer, request.data))
        user = request.user
        dispute = _referenced(
            dispute_get, user, data.pop("dispute", None), "dispute", _("矛盾纠纷不存在。")
        )
        petition = _referenced(
            petition_get, user, data.pop("petition", None), "petition", _("信访事项不存在。")
        )
        case = mediation_open(actor=user, dispute=dispute, petition=petition, **data)
        return Response(_case_detail(self, case), status=status.HTTP_201_CREATED)


class CaseDetailApi(MediationApi):
    @extend_schema(
        operation_id="mediation_case_get",
        summary=gettext_lazy("调解案件详情"),
        responses={200: s.MediationCaseDetailSerializer},
    )
    def get(self, request, pk: int):
        return Response(_case_detail(self, mediation_get(request.user, pk)))


class _CaseActionApi(MediationApi):
    """POST /cases/<id>/<action>/: role right, case in scope, body, one service; → the case."""

    input_serializer: type = s.MediationEmptySerializer
    right = "case"

    @idempotent
    def post(self, request, pk: int):
        case = mediation_get(request.user, pk)  # out of scope: 404 whatever the role
        role_require(request.user, self.right)
        data = self.validated(self.input_serializer, request.data)
        self.perform(case, request.user, data)
        return Response(_case_detail(self, mediation_get(request.user, pk)))

    def perform(self, case, actor, data: dict) -> None:
        raise NotImplementedError


def _agreement(case):
    agreement = getattr(case, "agreement", None)
    if agreement is None:
        raise TransitionNotAllowed(_("该案件尚未达成调解协议。"))
    return agreement


def _case_action(operation_id: str, summary: str, serializer=s.MediationEmptySerializer):
    return extend_schema_view(
        post=extend_schema(
            operation_id=operation_id,
            summary=summary,
            request=serializer,
            responses={200: s.MediationCaseDetailSerializer},
        )
    )


@_case_action("mediation_case_assign", gettext_lazy("指派调解员"), s.CaseAssignSerializer)
class CaseAssignApi(_CaseActionApi):
    input_serializer = s.CaseAssignSerializer

    def perform(self, case, actor, data):
        mediation_assign(case=case, actor=actor, mediators=data["mediators"])


@_case_action(
    "mediation_case_refuse", gettext_lazy("当事人拒绝调解（第十七条）"), s.CaseRefuseSerializer
)
class CaseRefuseApi(_CaseActionApi):
    input_serializer = s.CaseRefuseSerializer

    def perform(self, case, actor, data):
        mediation_refuse(case=case, actor=actor, party_name=data["party_name"])


@_case_action("mediation_case_session", gettext_lazy("记录调解"), s.CaseSessionSerializer)
class CaseSessionApi(_CaseActionApi):
    input_serializer = s.CaseSessionSerializer

    def perform(self, case, actor, data):
        mediation_session_add(case=case, actor=actor, **data)


@_case_action("mediation_case_agree", gettext_lazy("达成调解协议"), s.CaseAgreeSerializer)
class CaseAgreeApi(_CaseActionApi):
    input_serializer = s.CaseAgreeSerializer

    def perform(self, case, actor, data):
        mediation_agree(case=case, actor=actor, **data)


@_case_action(
    "mediation_case_sign", gettext_lazy("当事人在书面协议上签名"), s.AgreementSignSerializer
)
class CaseSignApi(_CaseActionApi):
    input_serializer = s.AgreementSignSerializer

    def perform(self, case, actor, data):
        agreement_sign(agreement=_agreement(case), actor=actor, party_name=data["party_name"])


@_case_action("mediation_case_seal", gettext_lazy("调解委员会在书面协议上盖章"))
class CaseSealApi(_CaseActionApi):
    def perform(self, case, actor, data):
        agreement_seal(agreement=_agreement(case), actor=actor)


@_case_action(
    "mediation_case_terminate",
    gettext_lazy("终止调解并告知其他途径（第二十六条）"),
    s.CaseTerminateSerializer,
)
class CaseTerminateApi(_CaseActionApi):
    input_serializer = s.CaseTerminateSerializer

    def perform(self, case, actor, data):
        mediation_terminate(case=case, actor=actor, **data)


@_case_action("mediation_case_follow_up", gettext_lazy("记录回访"), s.FollowUpRecordSerializer)
class CaseFollowUpApi(_CaseActionApi):
    input_serializer = s.FollowUpRecordSerializer
    right = "case_follow_up"

    def perform(self, case, actor, data):
        follow_up_record(agreement=_agreement(case), actor=actor, **data)


@_case_action(
    "mediation_case_confirmation_apply",
    gettext_lazy("申请司法确认（协议生效之日起三十日内）"),
    s.ConfirmationApplySerializer,
)
class CaseConfirmationApplyApi(_CaseActionApi):
    input_serializer = s.ConfirmationApplySerializer

    def perform(self, case, actor, data):
        confirmation_apply(agreement=_agreement(case), actor=actor, **data)


@_case_action(
    "mediation_case_confirmation_decide",
    gettext_lazy("记录司法确认结果"),
    s.ConfirmationDecideSerializer,
)
class CaseConfirmationDecideApi(_CaseActionApi):
    input_serializer = s.ConfirmationDecideSerializer

    def perform(self, case, actor, data):
        confirmation = getattr(_agreement(case), "confirmation", None)
        if confirmation is None:
            raise TransitionNotAllowed(_("尚未申请司法确认。"))
        confirmation_decide(confirmation=confirmation, actor=actor, **data)
