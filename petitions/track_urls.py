from django.urls import path

from petitions import tracking

app_name = "track"
urlpatterns: list = [
    path("", tracking.track_lookup, name="lookup"),
    path("rate/", tracking.track_rate, name="rate"),
    path("api/", tracking.TrackApi.as_view(), name="api"),
]
