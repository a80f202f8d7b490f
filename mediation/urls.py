from django.urls import path

from mediation import documents, views

app_name = "mediation"
urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("disputes/", views.DisputeListView.as_view(), name="dispute-list"),
    path("disputes/new/", views.DisputeCreateView.as_view(), name="dispute-new"),
    path("disputes/<int:pk>/", views.DisputeDetailView.as_view(), name="dispute-detail"),
    path("disputes/<int:pk>/update/", views.DisputeUpdateView.as_view(), name="dispute-update"),
    path("disputes/<int:pk>/close/", views.DisputeCloseView.as_view(), name="dispute-close"),
    path("cases/", views.CaseListView.as_view(), name="case-list"),
    path("cases/new/", views.CaseOpenView.as_view(), name="case-open"),
    path("cases/<int:pk>/", views.CaseDetailView.as_view(), name="case-detail"),
    path(
        "cases/<int:pk>/agreement/",
        views.DocumentView.as_view(kind=documents.AGREEMENT),
        name="agreement",
    ),
    path(
        "cases/<int:pk>/agreement.pdf",
        views.DocumentView.as_view(kind=documents.AGREEMENT, pdf=True),
        name="agreement-pdf",
    ),
    path(
        "cases/<int:pk>/termination/",
        views.DocumentView.as_view(kind=documents.TERMINATION),
        name="termination",
    ),
    path(
        "cases/<int:pk>/termination.pdf",
        views.DocumentView.as_view(kind=documents.TERMINATION, pdf=True),
        name="termination-pdf",
    ),
    path("cases/<int:pk>/<slug:action>/", views.CaseActionView.as_view(), name="case-action"),
]
