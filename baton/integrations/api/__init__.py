"""/api/integrations: webhook subscriptions, connected systems and access revocations, a
leaver's business data, customer handover. The router is the subscriptions' one with the other
sub-resources added in this order (the order of the OpenAPI schema's paths)."""

from baton.integrations.api.business import router as business_router
from baton.integrations.api.customers import router as customers_router
from baton.integrations.api.revocations import router as revocations_router
from baton.integrations.api.systems import router as systems_router
from baton.integrations.api.webhooks import router

router.add_router("", systems_router)
router.add_router("", revocations_router)
router.add_router("", business_router)
router.add_router("", customers_router)

__all__ = ["router"]
