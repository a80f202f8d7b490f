"""The one pagination of /api/v1/ lists: `page` and `page_size` (at most MAX_PAGE_SIZE), answered
as {count, next, previous, results}; GeoJSON lists stay FeatureCollections with count, next and
previous as foreign members (RFC 7946 §6.1)."""

import json

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework.pagination import PageNumberPagination

MAX_PAGE_SIZE = 200


class ApiPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    page_size_query_description = _("每页条数（默认50，至多200）")
    page_query_description = _("页码，从1开始")
    max_page_size = MAX_PAGE_SIZE
    invalid_page_message = _("页码无效：该页不存在。")

    def feature_collection(self, features: list[str]) -> str:
        """A page of GeoJSON feature texts as one FeatureCollection with paging members."""
        paging = json.dumps(
            {
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
            }
        )
        return (
            '{"type":"FeatureCollection",'
            + paging[1:-1]
            + ',"features":['
            + ",".join(features)
            + "]}"
        )


# GeoJSON layers are whole by default (the maps draw them at once, bounded by bbox and filters);
# with `page` or `page_size` they are paged like every other list.
GEOJSON_PAGE_PARAMETERS = [
    OpenApiParameter(
        "page", int, description=_("页码；给出 page 或 page_size 时分页，否则返回全部")
    ),
    OpenApiParameter("page_size", int, description=_("每页要素数（默认50，至多200）")),
]


def feature_collection(view, rows, features) -> str:
    """`features(rows)` → feature texts, joined into a FeatureCollection (paged on request)."""
    if not {"page", "page_size"} & set(view.request.query_params):
        return '{"type":"FeatureCollection","features":[' + ",".join(features(rows)) + "]}"
    paginator = ApiPagination()
    page = paginator.paginate_queryset(rows, view.request, view=view)
    return paginator.feature_collection(features(page))
