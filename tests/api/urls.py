"""The project's URLconf plus three /api/v1/ test views for the statuses no real endpoint
answers on demand: 412 (a failed precondition), 429 (throttled) and 500 (an unexpected error)."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from api.exceptions import PreconditionFailed
from config.urls import urlpatterns as project_urlpatterns


class PreconditionApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise PreconditionFailed("版本已变化。")


class OncePerMinute(AnonRateThrottle):
    rate = "1/min"
    scope = "test-once"


class ThrottledApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [OncePerMinute]

    def get(self, request):
        return Response({"ok": True})


class BrokenApi(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError("boom: a bug")


urlpatterns = [
    path("api/v1/test/precondition/", PreconditionApi.as_view()),
    path("api/v1/test/throttled/", ThrottledApi.as_view()),
    path("api/v1/test/broken/", BrokenApi.as_view()),
    *project_urlpatterns,
]
