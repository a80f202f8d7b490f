from django.urls import path

app_name = "grid-api"
urlpatterns: list = []
