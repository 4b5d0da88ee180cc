"""/api/notify/notifications: the caller's in-app notifications (INBOX; an API token needs
notify:read, notify:write to mark them read)."""

# No `from __future__ import annotations` here: django-ninja reads the payload annotations
# of these endpoints at run time.

import datetime as dt
from typing import Any

from ninja import Field, Router, Schema

from baton.access import authz
from baton.access.authz import Perm
from baton.core.api_crud import Page
from baton.core.http import AuthedRequest
from baton.notify import actions
from baton.notify.api.common import page
from baton.notify.models import DeliveryKind, Notification

router = Router()


# ---------------------------------------------------------------- notifications


class NotificationOut(Schema):
    id: int
    kind: DeliveryKind
    title: str
    body: str
    url: str
    case_id: int | None
    created_at: dt.datetime
    read_at: dt.datetime | None
    unread: bool

    @staticmethod
    def resolve_unread(obj: Notification) -> bool:
        return obj.read_at is None


class NotificationPage(Page):
    unread_count: int
    items: list[NotificationOut]


class MarkReadIn(Schema):
    ids: list[int] | None = Field(
        default=None, description="The notifications to mark read; null: all unread ones."
    )


class MarkReadOut(Schema):
    marked: int


@router.get("/notifications", response=NotificationPage, operation_id="list_notifications")
def list_notifications(
    request: AuthedRequest, unread: bool = False, limit: int = 50, offset: int = 0
) -> dict[str, Any]:
    """The caller's own notifications, newest first (`unread=1`: only unread ones)."""
    user = request.user
    authz.require(user, Perm.INBOX)
    qs = authz.visible_to(user, Perm.INBOX, Notification.objects.all()).order_by(
        "-created_at", "-id"
    )
    unread_count = qs.filter(read_at__isnull=True).count()
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return {**page(qs, limit, offset), "unread_count": unread_count}


@router.post("/notifications/read", response=MarkReadOut, operation_id="mark_notifications_read")
def mark_notifications_read(request: AuthedRequest, payload: MarkReadIn) -> dict[str, int]:
    """Mark the caller's notifications read (ids of others' notifications are ignored). Reading
    is the user's own bookkeeping: it is not audited."""
    user = request.user
    authz.require(user, Perm.INBOX)
    return {"marked": actions.mark_read(user, payload.ids)}
