"""The API docs page (Swagger UI from drf-spectacular-sidecar, served from our static files, no
inline script or style so that it works under the CSP) and the JSON 404 for unknown /api/v1/ URLs."""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from drf_spectacular.views import SpectacularSwaggerSplitView

from api.exceptions import error_body


class ApiDocsView(SpectacularSwaggerSplitView):
    # The stock template has an inline <style>; ours links api/docs.css instead. The split view
    # serves the initialising script from this same URL (?script=), not inline.
    template_name = "api/docs.html"
    url_name = "schema"


def api_not_found(request, *args, **kwargs):
    """Unknown /api/v1/ URLs answer in the API's error shape, not the HTML 404 page."""
    return JsonResponse(error_body("not_found", _("未找到该接口。")), status=404)
