from django.db import models


class WorkerHeartbeat(models.Model):
    """A background worker's last sign of life, for /healthz and the operator."""

    name = models.CharField(max_length=200, unique=True)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)
