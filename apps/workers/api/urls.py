from django.urls import path

from apps.workers.api import views

urlpatterns = [
    path("workers/", views.WorkerListView.as_view(), name="worker-list"),
    path("workers/<str:worker_id>/", views.WorkerDetailView.as_view(), name="worker-detail"),
    path("ingest/", views.IngestListCreateView.as_view(), name="ingest-list"),
    path("ingest/<int:job_id>/", views.IngestDetailView.as_view(), name="ingest-detail"),
]
