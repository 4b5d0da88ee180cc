"""/api/notify: the caller's notifications, the delivery log, reminder rules and channels.

Permissions as in the UI: one's own notifications need INBOX, the delivery log DELIVERY_VIEW
(scoped by case), rules and channels NOTIFY_MANAGE (channels scoped by business unit). An API
token narrows its owner's permissions to its scopes: notify:read (notifications, the delivery
log) and notify:write (notifications, rules, channels). Channel secrets are write-only: answers
name the secrets that are set (`secrets_set`), never their values.
"""

from ninja import Router

from baton.notify.api.channels import router as channels_router
from baton.notify.api.deliveries import router as deliveries_router
from baton.notify.api.notifications import router as notifications_router
from baton.notify.api.rules import router as rules_router

router = Router(tags=["notify"])
# In this order: the order of the OpenAPI schema's paths.
router.add_router("", notifications_router)
router.add_router("", deliveries_router)
router.add_router("", rules_router)
router.add_router("", channels_router)

__all__ = ["router"]
