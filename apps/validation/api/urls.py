from django.urls import path

from apps.validation.api import views

urlpatterns = [
    path("validate/email", views.OutreachValidationView.as_view(), name="validate-email"),
    path("validate/fill", views.FillValidationView.as_view(), name="validate-fill"),
]
