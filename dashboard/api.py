"""Dashboard API: thin views that validate query parameters and call dashboard.selectors.

Every layer of the map page is GeoJSON from here: the choropleth, case markers and heat points;
the side panel is JSON. Out-of-scope areas are 404 (existence is not disclosed).
"""

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.renderers import GEOJSON_RENDERERS
from api.schema import geojson_responses
from dashboard.selectors import (
    BOUNDARIES,
    MAP_LEVELS,
    DashboardError,
    area_panel_get,
    case_markers_get,
    choropleth_get,
    heat_points_get,
)
from dashboard.stats import FIGURE_DEFS, FIGURE_KEYS, Period
from petitions.deadlines import local_date

GEOJSON = "application/geo+json; charset=utf-8"
AREA_CODE = r"^([0-9]{3}){2,5}$"


def current_month() -> Period:
    """The month (Beijing time) the dashboard opens on."""
    return Period.containing_month(local_date(timezone.now()))


class PeriodField(serializers.CharField):
    """A period: "2026-03" (month), "2026-Q1", "2026", or "2026-03-01..2026-03-15"."""

    default_error_messages = {
        "invalid_period": _("期间格式无效：请使用 2026-03、2026-Q1 或 2026。")
    }

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        try:
            return Period.parse(text)
        except (ValueError, TypeError):
            self.fail("invalid_period")


class FigureQuerySerializer(serializers.Serializer):
    figure = serializers.ChoiceField(
        choices=[(key, FIGURE_DEFS[key].label) for key in FIGURE_KEYS], default="petitions_total"
    )
    period = PeriodField(required=False, help_text=_("默认：本月"))
    boundaries = serializers.ChoiceField(
        choices=BOUNDARIES,
        default="recorded",
        help_text=_("recorded：按记录时的边界（默认）；today：按现行边界回溯"),
    )

    def validate(self, attrs):
        attrs.setdefault("period", current_month())
        return attrs


class ChoroplethQuerySerializer(FigureQuerySerializer):
    level = serializers.ChoiceField(choices=MAP_LEVELS, default="street")
    parent = serializers.RegexField(
        AREA_CODE, required=False, help_text=_("上级区域代码：显示其下一层级的区域")
    )


class PointsQuerySerializer(serializers.Serializer):
    period = PeriodField(required=False, help_text=_("默认：本月"))
    kind = serializers.ChoiceField(choices=["petitions", "disputes"], default="petitions")
    area = serializers.RegexField(AREA_CODE, required=False)
    bbox = serializers.CharField(required=False, help_text=_("minlng,minlat,maxlng,maxlat"))

    def validate_bbox(self, value):
        try:
            box = tuple(float(x) for x in value.split(","))
        except ValueError:
            box = ()
        if len(box) != 4 or not (box[0] < box[2] and box[1] < box[3]):
            raise ValidationError(_("范围 bbox 应为 minlng,minlat,maxlng,maxlat。"))
        return box

    def validate(self, attrs):
        attrs.setdefault("period", current_month())
        return attrs


def _params(serializer_class, request) -> dict:
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return dict(params.validated_data)


def _answer(call, **kwargs):
    try:
        return call(**kwargs)
    except DashboardError as e:
        raise ValidationError(str(e)) from e


GEOJSON_RESPONSE = geojson_responses(_("GeoJSON 要素集合"))


class DashboardChoroplethApi(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = GEOJSON_RENDERERS

    @extend_schema(
        operation_id="dashboard_choropleth",
        summary=_("分级设色图 GeoJSON"),
        description=_(
            "某一层级（街道、社区、网格）在辖区内或某上级区域下的区域，带所选指标的值、分子、分母"
            "和分级（legend 为分位数分级）。辖区外的上级区域返回 404。"
        ),
        parameters=[ChoroplethQuerySerializer],
        responses=GEOJSON_RESPONSE,
    )
    def get(self, request):
        params = _params(ChoroplethQuerySerializer, request)
        text = _answer(choropleth_get, user=request.user, **params)
        return HttpResponse(text, content_type=GEOJSON)


class DashboardAreaApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="dashboard_area",
        summary=_("区域指标面板"),
        description=_(
            "一个区域在所选期间的全部指标（含同比、环比和明细链接）、面包屑和所选指标的"
            "近12个月趋势。辖区外返回 404。"
        ),
        parameters=[
            OpenApiParameter("code", str, OpenApiParameter.PATH),
            FigureQuerySerializer,
        ],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT)},
    )
    def get(self, request, code: str):
        params = _params(FigureQuerySerializer, request)
        return Response(_answer(area_panel_get, user=request.user, code=code, **params))


class DashboardMarkersApi(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = GEOJSON_RENDERERS

    @extend_schema(
        operation_id="dashboard_markers",
        summary=_("案件点位 GeoJSON"),
        description=_(
            "期间内辖区中有位置的信访事项或矛盾纠纷（编号、状态，不含个人信息）；"
            "检举控告类仅对可查看个人信息的角色显示。"
        ),
        parameters=[PointsQuerySerializer],
        responses=GEOJSON_RESPONSE,
    )
    def get(self, request):
        params = _params(PointsQuerySerializer, request)
        return HttpResponse(
            _answer(case_markers_get, user=request.user, **params), content_type=GEOJSON
        )


class DashboardHeatApi(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = GEOJSON_RENDERERS

    @extend_schema(
        operation_id="dashboard_heat",
        summary=_("热力点 GeoJSON"),
        description=_("与案件点位相同的案件，仅坐标，供热力图使用。"),
        parameters=[PointsQuerySerializer],
        responses=GEOJSON_RESPONSE,
    )
    def get(self, request):
        params = _params(PointsQuerySerializer, request)
        return HttpResponse(
            _answer(heat_points_get, user=request.user, **params), content_type=GEOJSON
        )
