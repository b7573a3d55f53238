from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.admin import all_jobs_view
from apps.core.api.views import healthz

api_v1 = [
    path("", include("apps.core.api.urls")),
    path("", include("apps.indexes.api.urls")),
    path("", include("apps.search.api.urls")),  # before workers: `workers/search` is not a worker id
    path("", include("apps.workers.api.urls")),
    path("", include("apps.orders.api.urls")),
    path("", include("apps.validation.api.urls")),
    path("", include("apps.playbooks.api.urls")),
    path("", include("apps.replay.api.urls")),
    path("", include("apps.evidence.api.urls")),
    path("", include("apps.interactions.api.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/jobs/", admin.site.admin_view(all_jobs_view), name="admin-jobs"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]

handler400 = "apps.core.api.errors.json_bad_request"
handler403 = "apps.core.api.errors.json_permission_denied"
handler404 = "apps.core.api.errors.json_not_found"
handler500 = "apps.core.api.errors.json_server_error"
