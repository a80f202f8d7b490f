"""The monthly report pages, mounted at dashboard/report/ (config/urls.py)."""

from django.urls import path

from dashboard import views_report as views

app_name = "dashboard-report"
urlpatterns = [
    path("", views.report_monthly, name="monthly"),
    path("records/", views.report_records, name="records"),
    path("export.<slug:fmt>", views.report_export, name="export"),
    path("snapshots/", views.snapshot_index, name="snapshots"),
    path("snapshots/freeze/", views.snapshot_freeze, name="snapshot-freeze"),
    path("snapshots/<int:pk>/", views.snapshot_detail, name="snapshot"),
]
