from django.urls import path, re_path

from api.views import ApiDocsView, api_not_found

urlpatterns: list = [
    path("api/docs/", ApiDocsView.as_view(), name="api-docs"),
]
# After every /api/v1/ include in config/urls.py: the rest of /api/v1/ is a JSON 404.
not_found_patterns: list = [re_path(r"^api/v1/", api_not_found, name="api-not-found")]
