from django.urls import path

from ledger import views

app_name = "ledger"
urlpatterns = [
    path("", views.ledger_index, name="index"),
    path("<int:pk>/", views.ledger_detail, name="detail"),
    path("<int:pk>/mapping/", views.ledger_mapping, name="mapping"),
    path("<int:pk>/dry-run/", views.ledger_dry_run, name="dry-run"),
    path("<int:pk>/commit/", views.ledger_commit, name="commit"),
    path("<int:pk>/progress/", views.ledger_progress, name="progress"),
    path("<int:pk>/errors.csv", views.ledger_errors_csv, name="errors-csv"),
]
