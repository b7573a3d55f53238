from django.urls import path

from apps.replay.api import views

urlpatterns = [
    path("replay/batches/", views.ReplayBatchListCreateView.as_view(), name="replay-batch-list"),
    path("replay/batches/<str:batch_id>/", views.ReplayBatchDetailView.as_view(), name="replay-batch-detail"),
    path("replay/runs/", views.ReplayRunListView.as_view(), name="replay-run-list"),
    path("replay/runs/<str:run_id>/", views.ReplayRunDetailView.as_view(), name="replay-run-detail"),
]
