"""What the notification pages share: page sizes, HTMX, safe links, running a form's action."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _

from baton.access import authz
from baton.access.authz import Perm
from baton.core.errors import ActionError
from baton.core.forms import apply_action_error
from baton.notify.models import Family

PAGE_SIZE = 50
CASE_LOG_LIMIT = 200  # the case page shows the latest deliveries; the full log has the rest
# The families a channel is configured for (in-app needs none), in the order the page shows.
CHANNEL_FAMILIES = (Family.EMAIL, Family.SMS, Family.IM)


def htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


def safe_link(url: str) -> str:
    """A notification's link, if it is one (a path on this site or an http(s) address)."""
    url = (url or "").strip()
    if not url:
        return ""
    if url.startswith("/") and not url.startswith("//"):
        return url
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def run_form(
    form: forms.BaseForm, call: Callable[[], Any], rename: dict[str, str] | None = None
) -> Any:
    """Validate the form, then run the action; put its refusal on the form (`rename` maps the
    action's field names to the form's)."""
    if not form.is_valid():
        return None
    try:
        return call()
    except ActionError as exc:
        if rename:
            exc.field_errors = {rename.get(k, k): v for k, v in exc.field_errors.items()}
        apply_action_error(form, exc)
        form.error_status = exc.status  # type: ignore[attr-defined]
    except PermissionDenied as exc:
        form.add_error(None, str(exc) or _("You do not have permission to do this."))
        form.denied = True  # type: ignore[attr-defined]
    return None


def form_status(request: HttpRequest, form: forms.BaseForm) -> int:
    if getattr(form, "denied", False):
        return 403
    if request.method != "POST":
        return 200
    return int(getattr(form, "error_status", 400))


def manage_scope(user: Any) -> authz.Scope:
    """The user's NOTIFY_MANAGE scope (403 without the permission)."""
    authz.require(user, Perm.NOTIFY_MANAGE)
    return authz.access_for(user).scopes[Perm.NOTIFY_MANAGE]
