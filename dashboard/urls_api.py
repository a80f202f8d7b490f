from django.urls import path

from dashboard import api

app_name = "dashboard-api"
urlpatterns: list = [
    path("choropleth/", api.DashboardChoroplethApi.as_view(), name="choropleth"),
    path("areas/<str:code>/", api.DashboardAreaApi.as_view(), name="area"),
    path("markers/", api.DashboardMarkersApi.as_view(), name="markers"),
    path("heat/", api.DashboardHeatApi.as_view(), name="heat"),
]
