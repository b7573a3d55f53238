from django.urls import path

from apps.playbooks.api import views

urlpatterns = [
    path("playbooks/record", views.RecordPlaybookView.as_view(), name="playbook-record"),
    path("playbooks/", views.PlaybookListView.as_view(), name="playbook-list"),
    path("playbooks/<int:pk>/", views.PlaybookDetailView.as_view(), name="playbook-detail"),
]
