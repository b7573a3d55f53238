from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from apps.orders.choices import ORDER_ID_PATTERN, ROLE_CHOICES, USPS_STATE_CHOICES, ZIP_PATTERN, OrderStatus, ProposalStatus, Shift


class JobOrder(models.Model):
    """A client's request for workers (SPEC §3.2). `end_date` is optional: without it the order
    occupies its start date only (used for double-booking). The field validators are the one
    definition of a valid order: apps.orders.services runs them for every writer (API, admin, imports)."""

    order_id = models.CharField(
        max_length=64, unique=True,
        validators=[RegexValidator(ORDER_ID_PATTERN, "Letters, digits, '.', '_' and '-' only, starting with a letter or digit (at most 64).")],
    )
    client = models.CharField(max_length=200)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=2, choices=USPS_STATE_CHOICES)
    site_zip = models.CharField(max_length=5, blank=True, validators=[RegexValidator(ZIP_PATTERN, "A 5-digit ZIP code.")])
    role = models.CharField(max_length=64, choices=ROLE_CHOICES)
    headcount = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    shift = models.CharField(max_length=16, choices=Shift.choices)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    required_certifications = ArrayField(models.TextField(), default=list, blank=True)
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.OPEN)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "start_date"], name="order_status_start")]
        constraints = [
            models.CheckConstraint(condition=Q(headcount__gte=1), name="order_headcount_positive"),
            models.CheckConstraint(condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")), name="order_end_after_start"),
        ]

    def clean(self) -> None:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": ["Must not be before start_date."]})

    def __str__(self) -> str:
        return f"{self.order_id} {self.headcount}× {self.role} {self.city}, {self.state}"


class FillProposal(models.Model):
    """Workers proposed for an order with the FillValidator's verdict; accepted proposals book the
    workers (DOUBLE_BOOKED checks them)."""

    order = models.ForeignKey(JobOrder, on_delete=models.CASCADE, related_name="proposals")
    worker_ids = ArrayField(models.CharField(max_length=64))
    verdict = models.JSONField(default=dict)
    ok = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=ProposalStatus.choices, default=ProposalStatus.PROPOSED)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"], name="proposal_status"), GinIndex(fields=["worker_ids"], name="proposal_workers_gin")]

    def __str__(self) -> str:
        # The order's business id, not its database id (the order is usually select_related).
        return f"proposal #{self.pk} for {self.order.order_id}"
