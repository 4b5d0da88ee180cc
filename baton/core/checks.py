from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def secret_key_is_set(app_configs, **kwargs):
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        return [
            Error(
                "BATON_SECRET_KEY is not set: the development key must not serve production.",
                id="baton.E001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def lookup_key_is_set(app_configs, **kwargs):
    """ID card numbers are found by an HMAC under BATON_LOOKUP_KEY; the development fallback
    (derived from SECRET_KEY) must not hash production data."""
    import base64
    import binascii

    configured = getattr(settings, "BATON_LOOKUP_KEY", "") or ""
    if not configured:
        return [
            Error(
                "BATON_LOOKUP_KEY is not set: ID card numbers would be hashed under a development "
                "key. Set it to a key from `baton keys new` and never change it.",
                id="baton.E020",
            )
        ]
    try:
        raw = base64.b64decode(configured, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        return [Error("BATON_LOOKUP_KEY is not the base64 of 32 bytes.", id="baton.E021")]
    return []
