from django.urls import path

from petitions.api import views

app_name = "petitions-api"
urlpatterns: list = [
    path("", views.PetitionListApi.as_view(), name="list"),
    # The same endpoint, named for its POST: reverse("petitions-api:register").
    path("", views.PetitionListApi.as_view(), name="register"),
    path("geojson/", views.PetitionGeoJsonApi.as_view(), name="geojson"),
    path(
        "repeat-candidates/",
        views.PetitionRepeatCandidatesApi.as_view(),
        name="repeat-candidates",
    ),
    path("visits/", views.VisitListApi.as_view(), name="visits"),
    path("visits/<int:pk>/", views.VisitDetailApi.as_view(), name="visit-detail"),
    path("reception-days/", views.ReceptionDayListApi.as_view(), name="reception-days"),
    path(
        "reception-days/<int:pk>/",
        views.ReceptionDayDetailApi.as_view(),
        name="reception-day-detail",
    ),
    path("<int:pk>/", views.PetitionDetailApi.as_view(), name="detail"),
    # One literal path per step (so the schema documents each body), all named "action":
    # reverse("petitions-api:action", kwargs={"pk": 1, "action": "route"}).
    *[
        path(f"<int:pk>/{action}/", api.as_view(), {"action": action}, name="action")
        for action, api in views.ACTION_APIS.items()
    ],
]
