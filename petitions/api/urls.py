app_name = "petitions-api"
urlpatterns: list = []
