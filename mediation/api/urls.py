app_name = "mediation-api"
urlpatterns: list = []
