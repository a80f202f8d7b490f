from django.contrib.auth import views as auth_views
from django.urls import path

from grid import views

app_name = "grid"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("map/", views.MapView.as_view(), name="map"),
    # Every staff role signs in here; the admin's login form accepts only is_staff accounts.
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(next_page="grid:home", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="grid:login"), name="logout"),
]
