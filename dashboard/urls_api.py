app_name = "dashboard-api"
urlpatterns: list = []
