from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "baton.notify"
    label = "notify"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from baton.notify import schedule

        schedule.register()
