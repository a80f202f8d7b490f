"""Grid API: thin views that validate parameters and call selectors."""

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.renderers import GEOJSON_RENDERERS
from api.schema import geojson_responses
from grid.api.serializers import (
    LEVEL_CHOICES,
    LayerQuerySerializer,
    LocateQuerySerializer,
    LocateResultSerializer,
    locate_payload,
)
from grid.selectors import area_layer_get, gridcell_locate_get


class GridLocateApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="grid_locate",
        summary=_("坐标定位网格"),
        description=_("返回坐标所在的网格及其社区、街道、区；GCJ-02、BD-09 坐标先换算为 WGS-84。"),
        parameters=[LocateQuerySerializer],
        responses={200: LocateResultSerializer},
    )
    def get(self, request):
        params = LocateQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        result = gridcell_locate_get(user=request.user, **params.validated_data)
        return Response(locate_payload(result))


class GridLayerApi(APIView):
    permission_classes = [IsAuthenticated]
    renderer_classes = GEOJSON_RENDERERS

    @extend_schema(
        operation_id="grid_layer",
        summary=_("层级边界 GeoJSON"),
        description=_(
            "某一层级（区、街道、社区、网格）的边界 FeatureCollection，可按范围过滤；"
            "缩放级别低于 15 时返回简化边界。"
        ),
        parameters=[
            OpenApiParameter("level", str, OpenApiParameter.PATH, enum=LEVEL_CHOICES),
            LayerQuerySerializer,
        ],
        responses=geojson_responses(_("GeoJSON 要素集合")),
    )
    def get(self, request, level: str):
        params = LayerQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        text = area_layer_get(user=request.user, level=level, **params.validated_data)
        return HttpResponse(text, content_type="application/geo+json; charset=utf-8")
