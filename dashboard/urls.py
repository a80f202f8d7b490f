from django.urls import path

from dashboard import views_map

app_name = "dashboard"
urlpatterns: list = [
    path("", views_map.DashboardMapView.as_view(), name="map"),
]
