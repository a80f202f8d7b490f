from django.urls import path

from petitions import views, views_documents, views_reveal

app_name = "petitions"
urlpatterns: list = [
    path("", views.petition_index, name="list"),
    path("new/", views.petition_new, name="new"),
    path("work/", views.work_panel, name="work"),
    path("<int:pk>/", views.petition_detail, name="detail"),
    path("<int:pk>/act/<slug:action>/", views.petition_act, name="act"),
    path("<int:pk>/documents/<int:doc_id>/", views.document_view, name="document"),
    path(
        "<int:pk>/documents/<int:doc_id>.pdf",
        views_documents.document_pdf,
        name="document-pdf",
    ),
    path("<int:pk>/petitioners/<int:pid>/reveal/", views_reveal.petitioner_reveal, name="reveal"),
    path("visits/", views.visit_index, name="visits"),
    path("visits/new/", views.visit_new, name="visit-new"),
    path("reception-days/", views.reception_day_index, name="reception-days"),
    path("reception-days/new/", views.reception_day_new, name="reception-day-new"),
    path("reception-days/<int:pk>/", views.reception_day_detail, name="reception-day"),
]
