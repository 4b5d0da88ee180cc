from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "baton.core"
    label = "core"
    verbose_name = "Baton core"

    def ready(self) -> None:
        from baton.core import checks  # noqa: F401 — registers system checks
