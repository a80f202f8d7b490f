app_name = "track"
urlpatterns: list = []
