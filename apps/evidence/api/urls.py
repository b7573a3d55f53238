from django.urls import path

from apps.evidence.api import views

urlpatterns = [
    path("evidence/materialize/", views.MaterializeView.as_view(), name="evidence-materialize"),
    path("evidence/runs/", views.MaterializeRunListView.as_view(), name="evidence-run-list"),
    path("evidence/runs/<str:run_id>/", views.MaterializeRunDetailView.as_view(), name="evidence-run-detail"),
    path("evidence/records/", views.EvidenceRecordListView.as_view(), name="evidence-record-list"),
    path("evidence/feedback/", views.FeedbackView.as_view(), name="evidence-feedback"),
]
