"""Entries written by our own SQL: the claim and a chain of owed entries are statements the ORM
would compile on every call, so they are written once (shop.outbox.batch, shop.outbox.publish),
and each returns whole rows, read back here as `Entry` objects."""

from collections.abc import Iterable, Sequence
from functools import cache

from django.db import connection

from .models import Entry


@cache
def returning() -> str:
    """Every column of an entry, quoted: a statement's RETURNING list, for `entries()`."""
    return ", ".join(connection.ops.quote_name(field.column) for field in Entry._meta.concrete_fields)


def entries(rows: Iterable[Sequence]) -> list[Entry]:
    """The entries of rows returned with `returning()`."""
    names = [field.attname for field in Entry._meta.concrete_fields]
    return [Entry.from_db(connection.alias, names, row) for row in rows]
