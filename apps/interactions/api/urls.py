from django.urls import path

from apps.interactions.api import views

urlpatterns = [
    path("interactions/", views.InteractionListView.as_view(), name="interaction-list"),
    path("interactions/<uuid:interaction_id>/", views.InteractionDetailView.as_view(), name="interaction-detail"),
]
