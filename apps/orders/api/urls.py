from rest_framework.routers import SimpleRouter

from apps.orders.api.views import JobOrderViewSet

router = SimpleRouter()
router.register("orders", JobOrderViewSet, basename="order")
urlpatterns = router.urls
