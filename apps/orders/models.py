from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from apps.core.models import Job

from apps.orders.choices import (
    ORDER_ID_PATTERN, ROLE_CHOICES, USPS_STATE_CHOICES, ZIP_PATTERN, AssignmentEndReason, OrderStatus, ProposalStatus, Shift,
    client_key,
)


class Client(models.Model):
    """A client company (SPEC §3.2). `name` is shown as entered first; `key` (trimmed, inner spaces
    collapsed, case-folded) is what makes "ACME  Logistics " and "acme logistics" one client."""

    name = models.CharField(max_length=200)
    key = models.CharField(max_length=200, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def clean(self) -> None:
        self.name = " ".join((self.name or "").split())
        if not self.name:
            raise ValidationError({"name": ["A client name is required."]})

    def save(self, *args, **kwargs) -> None:
        self.key = client_key(self.name)  # the invariant holds for every writer, not only the services
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.name


class JobOrder(models.Model):
    """A client's request for workers (SPEC §3.2). `end_date` is optional: without it the order
    occupies its start date only (used for double-booking). The field validators are the one
    definition of a valid order: apps.orders.services runs them for every writer (API, admin, imports)."""

    order_id = models.CharField(
        max_length=64, unique=True,
        validators=[RegexValidator(ORDER_ID_PATTERN, "Letters, digits, '.', '_' and '-' only, starting with a letter or digit (at most 64).")],
    )
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="orders")
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
        # The role's label, not its slug: this is the order's title on every console page and link.
        return f"{self.order_id} {self.headcount}× {self.get_role_display()}, {self.city}, {self.state}"


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
        # The order's business id (JO-…), never its database id, is what a coordinator knows.
        return f"proposal {self.pk} for {self.order.order_id}"


class DoNotAssign(models.Model):
    """A worker a client has banned (SPEC §3.2a): never returned by a search for that client, never a
    valid fill of its orders, a failure when replayed."""

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="do_not_assign")
    # No database constraint, and nothing cascades: a ban is about the person behind a worker_id, so it
    # survives a workers reset or a drop-and-reingest (both TRUNCATE the table) and holds again when
    # the same id comes back. The services check that the worker exists when the entry is added.
    worker = models.ForeignKey(
        "workers.Worker", on_delete=models.DO_NOTHING, db_constraint=False, to_field="worker_id", db_column="worker_id", related_name="+",
    )
    reason = models.TextField()
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["client", "worker"], name="do_not_assign_client_worker")]
        indexes = [models.Index(fields=["worker"], name="do_not_assign_worker")]
        verbose_name = "do-not-assign entry"
        verbose_name_plural = "do-not-assign list"

    def __str__(self) -> str:
        return f"{self.worker_id} banned by {self.client}"


class AssignmentEnd(models.Model):
    """The end of one accepted worker's assignment on an order (SPEC §4.8a step 5). An ended worker no
    longer books (double-booking); a no-show or decline also frees the seat."""

    order = models.ForeignKey(JobOrder, on_delete=models.CASCADE, related_name="assignment_ends")
    worker_id = models.CharField(max_length=64)
    reason = models.CharField(max_length=16, choices=AssignmentEndReason.choices)
    ended_by = models.CharField(max_length=150, blank=True)
    ended_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ended_at"]
        constraints = [models.UniqueConstraint(fields=["order", "worker_id"], name="assignment_end_once")]

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.order.order_id}: {self.reason}"


class OrderImportJob(Job):
    """Orders imported from a CSV (SPEC §4.8a, kind `orders`). Each row goes through the same order
    service as the API; a row whose order_id already exists is left as it is (re-running an import
    changes nothing), a bad row is rejected with its line and reason and the good rows are kept.

    Accounting once finished: rows_read = rows_created + rows_existing + rows_rejected."""

    job_kind = "orders"
    MAX_ERRORS = 1000

    source_name = models.CharField(max_length=255, blank=True)
    csv_text = models.TextField()
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_existing = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)  # [{"line", "order_id", "reason"}], first MAX_ERRORS

    class Meta(Job.Meta):
        verbose_name = "order import"

    def job_counters(self) -> dict:
        return {
            "source_name": self.source_name, "rows_total": self.rows_total, "rows_read": self.rows_read,
            "rows_created": self.rows_created, "rows_existing": self.rows_existing, "rows_rejected": self.rows_rejected,
            "errors": self.errors,
        }

    def __str__(self) -> str:
        return f"order import {self.pk}"
