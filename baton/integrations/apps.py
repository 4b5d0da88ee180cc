from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "baton.integrations"
    label = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from baton.audit import trail
        from baton.integrations import outbox, schedule

        trail.listeners.append(outbox.on_audit)
        schedule.register()
