from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "baton.integrations"
    label = "integrations"
    verbose_name = _("Integrations")

    def ready(self) -> None:
        from baton.audit import trail
        from baton.integrations import business, outbox, revocation, schedule

        trail.listeners.append(outbox.on_audit)
        trail.listeners.append(revocation.on_audit)  # plans access revocation on approval
        trail.listeners.append(business.on_audit)  # queues business-data pulls on approval
        business.register()  # the pull sweep on the workers' clock
        schedule.register()
