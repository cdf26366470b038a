"""The objects a batch of entries is about, read in one query when the batch starts:

    orders = Preloaded(lambda: Order.objects.select_related("user").prefetch_related("items"))
    register(Kind("invoice", run=generate_invoice, settings_prefix="INVOICE", batch=orders.batch))

    def generate_invoice(entry):
        order = orders.get(entry.object_id)   # the batch's copy; alone (a retry), its own query

A batch of 50 invoices then reads its orders in one query (and one per prefetch) instead of 50,
each read still after the batch's claim committed: a cancel committed before the claim is seen,
as by a single run. An object missing from the batch's read is gone (None), as it would be alone."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models import Model, QuerySet

from .models import Entry


class Preloaded:
    def __init__(self, queryset: Callable[[], QuerySet]) -> None:
        self.queryset = queryset
        self._batch: ContextVar[dict[int, Model] | None] = ContextVar(f"preloaded-{id(self)}", default=None)

    @contextmanager
    def batch(self, entries: list[Entry]) -> Iterator[None]:
        objects = self.queryset().filter(pk__in=[entry.object_id for entry in entries])
        token = self._batch.set({obj.pk: obj for obj in objects})
        try:
            yield
        finally:
            self._batch.reset(token)

    def get(self, pk: int) -> Model | None:
        loaded = self._batch.get()
        if loaded is not None:
            return loaded.get(pk)
        return self.queryset().filter(pk=pk).first()
