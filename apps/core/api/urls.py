from django.urls import path

from apps.core.api import jobs
from apps.core.api.views import WhoAmIView

urlpatterns = [
    path("whoami", WhoAmIView.as_view(), name="whoami"),
    path("jobs/", jobs.JobListView.as_view(), name="job-list"),
    path("jobs/<str:kind>/<str:job_id>/", jobs.JobDetailView.as_view(), name="job-detail"),
    path("jobs/<str:kind>/<str:job_id>/cancel/", jobs.JobCancelView.as_view(), name="job-cancel"),
    path("jobs/<str:kind>/<str:job_id>/retry/", jobs.JobRetryView.as_view(), name="job-retry"),
]
