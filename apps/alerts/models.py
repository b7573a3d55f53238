from django.db import models

from apps.alerts.choices import AlertKind, Delivery


class Alert(models.Model):
    """One notification to staff (a failed job, a replay batch with regressions). `key` names what it
    is about (kind + job/batch): the unique key is what makes an alert fire exactly once however many
    times the terminal state is reached (task redelivery, a retry of the runner, two processes)."""

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    email = models.CharField(max_length=16, choices=Delivery.choices, default=Delivery.PENDING)
    webhook = models.CharField(max_length=16, choices=Delivery.choices, default=Delivery.PENDING)
    webhook_attempts = models.PositiveIntegerField(default=0)
    delivery_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.subject
