from django.db import models


class WorkerHeartbeat(models.Model):
    """A background worker's last sign of life, for /healthz and the operator."""

    name = models.CharField(max_length=200, unique=True)
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)


class ScheduledRun(models.Model):
    """A periodic job's run for one time slot. The unique (job, slot) makes sure that of
    several workers ticking at once exactly one starts it; the row is the run's record."""

    job = models.CharField(max_length=32)
    slot = models.CharField(max_length=64)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="scheduled_run_unique")]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.job} {self.slot}"
