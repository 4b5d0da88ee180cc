"""The default reminder rules of a new installation (baton/notify/rules.py says why these)."""

from django.db import migrations


def create_defaults(apps, schema_editor):
    from baton.notify.rules import DEFAULT_RULES

    ReminderRule = apps.get_model("notify", "ReminderRule")
    if ReminderRule.objects.filter(template__isnull=True).exists():
        return
    for n, spec in enumerate(DEFAULT_RULES):
        ReminderRule.objects.create(
            name="",
            offset=spec["offset"],
            repeat=str(spec["repeat"]),
            audience=str(spec["audience"]),
            channels=[str(c) for c in spec["channels"]],
            mode=str(spec["mode"]),
            escalation=spec.get("escalation", False),
            sort=n,
        )


class Migration(migrations.Migration):
    dependencies = [("notify", "0001_initial")]
    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
