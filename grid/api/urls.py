from django.urls import path

from grid.api.views import GridLayerApi, GridLocateApi

app_name = "grid-api"
urlpatterns: list = [
    path("locate", GridLocateApi.as_view(), name="locate"),
    path("layers/<str:level>/", GridLayerApi.as_view(), name="layer"),
]
