from django.db import models
from django.db.models import Q


class EntryStatus(models.TextChoices):
    PENDING = "pending"  # owed: published, waiting, or being tried
    DONE = "done"
    SKIPPED = "skipped"  # nothing to do any more (an e-mail about an order cancelled first)
    FAILED = "failed"  # given up (attempts used up, or refused for good) until staff requeue it


class Entry(models.Model):
    """One piece of owed work: `kind` names what to do (a registered kind), `object_id` what it is
    about, in the kind's own terms (an order's id, a user's id).

    Written `pending` in the transaction that owes the work; `enqueued_at` is stamped when the
    broker took a publish of it (null when it did not). A run claims it (`claimed_until`, the
    attempt counted, committed before anything outside is called), then records the outcome in a
    second commit: a crash in between leaves evidence, and the sweeper leaves a claimed entry
    alone until its lease ends. An entry `after` another is not run while that one is pending."""

    kind = models.CharField(max_length=40)
    object_id = models.PositiveBigIntegerField()
    after = models.ForeignKey(  # indexed only where set (below): most entries run after none
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    status = models.CharField(max_length=16, choices=EntryStatus.choices, default=EntryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="What the last failed attempt said")
    claimed_until = models.DateTimeField(null=True, blank=True)
    requeues = models.PositiveIntegerField(default=0, help_text="Times staff sent a failed entry again")
    requeued_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    request_id = models.CharField(
        max_length=128, blank=True, db_default="", help_text="X-Request-ID of the request that owed it"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "entries"
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one owed piece of each kind of work per object at a time.
            models.UniqueConstraint(
                fields=["kind", "object_id"],
                condition=Q(status="pending"),
                name="outbox_one_pending_per_object",
            ),
            models.CheckConstraint(condition=Q(status__in=EntryStatus.values), name="outbox_status_valid"),
        ]
        indexes = [
            models.Index(fields=["kind", "object_id"], name="outbox_kind_object"),
            models.Index(fields=["status", "created_at"], name="outbox_status_created"),
            models.Index(fields=["after"], condition=Q(after__isnull=False), name="outbox_after"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} ({self.status})"
