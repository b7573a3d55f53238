from django.urls import path

from apps.search.api import views

# Keeps its place under workers/: it is the workers search, only assembled one layer up.
urlpatterns = [
    path("workers/search", views.WorkerSearchView.as_view(), name="worker-search"),
]
