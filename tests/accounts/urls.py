"""The project's URLconf plus the audit page, for tests run before config/urls.py mounts it
(`path("audit/", include("accounts.urls"))`); once it is mounted this adds nothing."""

from django.urls import get_resolver, include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
if "accounts" not in get_resolver("config.urls").namespace_dict:
    urlpatterns.insert(0, path("audit/", include("accounts.urls")))
