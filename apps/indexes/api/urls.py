from django.urls import path

from apps.indexes.api import views

urlpatterns = [
    path("indexes/", views.IndexListView.as_view(), name="index-list"),
    path("indexes/jobs/<int:job_id>/", views.IndexJobView.as_view(), name="index-job"),
    path("indexes/<slug:name>/", views.IndexDetailView.as_view(), name="index-detail"),
    path("indexes/<slug:name>/rebuild/", views.IndexRebuildView.as_view(), name="index-rebuild"),
    path("indexes/<slug:name>/reembed/", views.IndexReembedView.as_view(), name="index-reembed"),
]
