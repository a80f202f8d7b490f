app_name = "dashboard-report"
urlpatterns: list = []
