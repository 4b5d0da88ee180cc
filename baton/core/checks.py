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
