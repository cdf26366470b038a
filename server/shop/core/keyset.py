"""Keyset ("seek") positions in a list ordered by one key and then the id, both in the same
direction (`("-created_at", "-id")`): the rows after (or before) a row are one indexed range, so
reading from a position costs the same however deep it is, and rows sharing the key are told
apart by their id (nothing repeated, nothing skipped)."""

from typing import Any

from django.db.models import Q, QuerySet

Ordering = tuple[str, str]


def ordering_of(queryset: QuerySet) -> Ordering:
    """The (key, id) a queryset is ordered by, as `beyond` takes it."""
    key, tie = (str(part) for part in queryset.query.order_by)
    return key, tie


def beyond(value: Any, pk: int, ordering: Ordering, *, backwards: bool = False) -> Q:
    """The rows that come after the row (`value` of the key, `pk`) in `ordering`, or before it."""
    key = ordering[0]
    name = key.lstrip("-")
    op = "lt" if key.startswith("-") != backwards else "gt"
    # The first condition is redundant but bounds the index range: with the OR alone, PostgreSQL
    # scanned the index from its start (33.5 ms half-way into 500,000 orders; 7.5 ms with it).
    return Q(**{f"{name}__{op}e": value}) & (Q(**{f"{name}__{op}": value}) | Q(**{f"pk__{op}": pk}))
