from rest_framework.throttling import UserRateThrottle


class CoordinatorRateThrottle(UserRateThrottle):
    """Per-user request rate for coordinators. Staff tokens (operators, the load harness) are exempt:
    the throttle keeps one timestamp per request in Redis, which at load-test rates costs more than
    the request itself."""

    scope = "coordinator"

    def allow_request(self, request, view) -> bool:
        if request.user and request.user.is_authenticated and request.user.is_staff:
            return True
        return super().allow_request(request, view)
