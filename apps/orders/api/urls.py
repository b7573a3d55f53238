from rest_framework.routers import SimpleRouter

from apps.orders.api.views import DoNotAssignViewSet, JobOrderViewSet

router = SimpleRouter()
router.register("orders", JobOrderViewSet, basename="order")
router.register("do-not-assign", DoNotAssignViewSet, basename="do-not-assign")
urlpatterns = router.urls
