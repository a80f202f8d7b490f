"""/api/v1/mediation/: disputes (with a GeoJSON layer), screening rounds and mediation cases, with
one POST per action."""

from django.urls import path

from mediation.api import views

app_name = "mediation-api"

_CASE_ACTIONS = {
    "assign": views.CaseAssignApi,
    "refuse": views.CaseRefuseApi,
    "session": views.CaseSessionApi,
    "agree": views.CaseAgreeApi,
    "sign": views.CaseSignApi,
    "seal": views.CaseSealApi,
    "terminate": views.CaseTerminateApi,
    "follow-up": views.CaseFollowUpApi,
    "confirmation-apply": views.CaseConfirmationApplyApi,
    "confirmation-decide": views.CaseConfirmationDecideApi,
}

urlpatterns: list = [
    path("rounds/", views.RoundListApi.as_view(), name="round-list"),
    path("rounds/<int:pk>/close/", views.RoundCloseApi.as_view(), name="round-close"),
    path("disputes/", views.DisputeListApi.as_view(), name="dispute-list"),
    path("disputes/geojson/", views.DisputeGeoJsonApi.as_view(), name="dispute-geojson"),
    path("disputes/<int:pk>/", views.DisputeDetailApi.as_view(), name="dispute-detail"),
    path("disputes/<int:pk>/update/", views.DisputeUpdateApi.as_view(), name="dispute-update"),
    path("disputes/<int:pk>/close/", views.DisputeCloseApi.as_view(), name="dispute-close"),
    path("disputes/<int:pk>/mediate/", views.DisputeMediateApi.as_view(), name="dispute-mediate"),
    path("cases/", views.CaseListApi.as_view(), name="case-list"),
    path("cases/<int:pk>/", views.CaseDetailApi.as_view(), name="case-detail"),
    *(
        path(f"cases/<int:pk>/{action}/", view.as_view(), name=f"case-{action}")
        for action, view in _CASE_ACTIONS.items()
    ),
]
