from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from api.urls import not_found_patterns

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include("api.urls")),
    path("api/v1/grid/", include("grid.api.urls")),
    path("api/v1/petitions/", include("petitions.api.urls")),
    path("petitions/", include("petitions.urls")),
    path("track/", include("petitions.track_urls")),
    path("api/v1/mediation/", include("mediation.api.urls")),
    path("mediation/", include("mediation.urls")),
    path("open311/v2/", include("open311.urls")),
    path("ledger/", include("ledger.urls")),
    path("notifications/", include("notifications.urls")),
    path("dashboard/report/", include("dashboard.urls_report")),
    path("dashboard/", include("dashboard.urls")),
    path("api/v1/dashboard/", include("dashboard.urls_api")),
    *not_found_patterns,
    path("audit/", include("accounts.urls")),
    path("", include("grid.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
