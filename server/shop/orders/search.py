"""The staff's order search (`q`): the order number, the customer's username and e-mail, the
shipping address's recipient and postal code, and the products' names (as ordered), each
matched case-insensitively as a substring.

The rows of each side (users, addresses, order lines) that match are found first (trigram
indexes serve the substring matches on PostgreSQL, migrations/0006; a word index serves the
recipient's and the product's names for a term of several rare words, migrations/0007); then
each way is asked, within the list's other filters, for at most SPARSE + 1 order ids. When
every way finds no more than SPARSE, the orders are fetched by id, so a rare term costs a few
index lookups however many orders there are. Otherwise the term is common and the page is read
in the list's order, each order tested against the ways, which stops as soon as the page is
full. Either way the probes have counted the matches up to SPARSE + 1, so the result carries
its count and its cap (`bounded_count`, `count_cap`; read by the capped-count pagination) and
nothing counts them again: a search's count is exact up to 1,000, and no probe reads more than
1,001 orders whether there are a thousand or two million."""

import re
import time
from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import StrIndex, Upper
from django.db.models.lookups import GreaterThan

from .models import Order, OrderAddress, OrderItem

COUNT_CAP = 1_000  # a search's count is exact up to this (the pagination's `count_cap`)
SPARSE = COUNT_CAP  # more matching orders than this and the term is common: counted already
SIDE_IDS = 10_000  # rows of one side (users, addresses, lines) listed by id before the orders
PAGE_IDS = 3_000  # a long side is listed for a common term's page only when expected this short
WORD_SHARE = 0.05  # the word index lists a side's rows when its rarest asked affix is this rare
STATS_SECONDS = 600  # how long a process keeps the word indexes' statistics


class FencedExists(Exists):
    """EXISTS whose subquery PostgreSQL runs for each row it tests. Without the fence
    (`OFFSET 0`, which the planner never looks through) it may hash every matching row first,
    costing the subquery for every order rather than for the page the LIMIT reads: 125 ms for
    20 of 200,000 orders instead of 0.3 ms."""

    template = "EXISTS(%(subquery)s OFFSET 0)"


def affixes(term: str) -> list[str]:
    """What every text containing `term` has in the word index (migrations/0007, 0009), or
    nothing when the term gives it nothing to ask (a single word can sit anywhere inside a word).
    Words are split at spaces, as the index splits them. The term's first word is the end of
    a word, each of the others the start of one: `Ben Schmidt` asks `<Ben` and `>Schmidt`,
    `Ben M` `<Ben` and `>M`. An empty part (two spaces in a row) asks nothing."""
    parts = term.split(" ")
    if len(parts) < 2:
        return []
    return [("<" if i == 0 else ">") + part for i, part in enumerate(parts) if part]


def _words_are_rare(index: str, asked: list[str]) -> bool:
    """Whether the rarest of the asked affixes is on at most WORD_SHARE of the rows, by the
    index's statistics (an affix missing from its most common ones is rarer than all of
    those). The word index reads the lists of the asked affixes and skips through all but the
    rarest; the trigram index reads those of the term's letters. So the words win by far for a
    name (`Ben Schmidt`: 1.5 ms against 7 at 2,000,000 orders) and lose by far for a term on
    every row (`Product 0000000`: 88 ms against 4, where PostgreSQL reads the table in order
    and stops at the probe's limit). Without statistics (a new table) the words are asked."""
    shares = _affix_shares(index)
    if shares is None:
        return True
    listed, floor = shares
    # upper-cased by Python here, by PostgreSQL in the index: they may differ outside ASCII,
    # which can only choose the slower index, never change what is found
    return min(listed.get(affix.upper(), floor) for affix in asked) <= WORD_SHARE


_shares: dict[str, tuple[float, tuple[dict[str, float], float] | None]] = {}


def _affix_shares(index: str) -> tuple[dict[str, float], float] | None:
    """The index's most common affixes with the share of rows each is on, and the least of
    those shares; None without statistics. Read from pg_stats (1 ms) once per STATS_SECONDS
    in each process: ANALYZE changes them no faster."""
    now = time.monotonic()
    cached = _shares.get(index)
    if cached is not None and cached[0] > now:
        return cached[1]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = %s",
            [index],
        )
        row = cursor.fetchone()
    # the frequencies end with the least and the greatest of the listed ones
    shares = (dict(zip(row[0], row[1], strict=False)), row[1][len(row[0])]) if row and row[0] else None
    _shares[index] = (now + STATS_SECONDS, shares)
    return shares


class WordAffixes(Func):
    """`shop_search_words(column) @@ query`: the column has a word ending with each `<` affix
    and a word starting with each `>` one. PostgreSQL upper-cases the query as it upper-cased
    the column, so both compare alike whatever the database's locale."""

    output_field = BooleanField()

    def __init__(self, column: str, asked: list[str]):
        query = " & ".join("'" + affix.replace("\\", "\\\\").replace("'", "''") + "'" for affix in asked)
        super().__init__(F(column), Value(query))

    def as_sql(self, compiler, connection, **extra_context):
        (column, column_params), (query, query_params) = (
            compiler.compile(expression) for expression in self.source_expressions
        )
        sql = f"shop_search_words({column}::text) @@ UPPER({query})::tsquery"
        return sql, (*column_params, *query_params)


def _listed(side: QuerySet, column: str, term: str, index: str) -> QuerySet:
    """The side's rows whose `column` contains `term`, for listing them: through the word
    index when the term asks it something rare (checked by STRPOS, which the trigram index
    cannot serve, so PostgreSQL does not AND the two indexes), else as `side` finds them.
    Only a listing asks the word index: its expression costs 12 microseconds a row where
    PostgreSQL computes it, so it must never be a filter on rows read another way."""
    if connection.vendor != "postgresql":
        return side
    asked = affixes(term)
    if not asked or not _words_are_rare(index, asked):
        return side
    contains = GreaterThan(StrIndex(Upper(column), Upper(Value(term))), 0)
    return side.model.objects.filter(WordAffixes(column, asked), contains)


def _sides(term: str) -> list[tuple[QuerySet, QuerySet, str, str]]:
    """Each side of an order the term may match: its rows for listing them, its rows for a
    subquery, the side's key and the order's field it matches. The customer, the recipient,
    the postal code, a line; the recipient and the postal code are two sides of the address,
    so that each is one index's probe."""
    users = get_user_model().objects.filter(Q(username__icontains=term) | Q(email__icontains=term))
    names = OrderAddress.objects.filter(name__icontains=term)
    postal_codes = OrderAddress.objects.filter(postal_code__icontains=term)
    lines = OrderItem.objects.filter(product_name__icontains=term)
    return [
        (users, users, "pk", "user_id"),
        (_listed(names, "name", term, "order_address_name_words"), names, "pk", "shipping_address_id"),
        (postal_codes, postal_codes, "pk", "shipping_address_id"),
        (_listed(lines, "product_name", term, "order_item_product_name_words"), lines, "order_id", "pk"),
    ]


def _any_of(field: str, keys: list[int]) -> Q:
    return Q(AnyOf(field, keys)) if connection.vendor == "postgresql" else Q(**{f"{field}__in": keys})


class AnyOf(Func):
    """`field = ANY(%s)`: the listed keys as one array parameter. As an IN list of 5,600
    parameters, Django and psycopg took 20 ms to send the probe and 98 ms the page (which
    PostgreSQL answered in 1 ms); as one array, well under 1 ms each."""

    output_field = BooleanField()

    def __init__(self, field: str, keys: list[int]):
        super().__init__(F(field))
        self.keys = keys

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"{sql} = ANY(%s::bigint[])", (*params, self.keys)


class Way:
    """A way of matching, on the orders: the probes that count its matches, the cheapest first
    (a later one is made and run only when the one before found no more than SPARSE), and the
    page's condition."""

    def probes(self) -> Iterator[Q]:
        raise NotImplementedError

    def page(self) -> Q:
        raise NotImplementedError


class Listed(Way):
    """Orders by keys listed already: the order number, or every matching row of a side."""

    def __init__(self, condition: Q):
        self.condition = condition

    def probes(self) -> Iterator[Q]:
        yield self.condition

    def page(self) -> Q:
        return self.condition


class Long(Way):
    """A side with more matching rows than its first listing holds.

    It is probed first by those rows' orders, which settle that the term is common when they
    are more than SPARSE. Only otherwise is the rest listed, and then only when PostgreSQL does
    not expect more than SIDE_IDS (listing SIDE_IDS + 1 rows only to learn that there are more
    costs as much as the rest of the search); when they are too many, the side is probed by a
    subquery (5 to 20 ms for a name on 20,000 to 40,000 of 2,000,000 addresses).

    The page of a common term walks the list and asks the side per order (FencedExists), or
    tests each order against the side's listed rows. The walk reads about 20 orders per match,
    at 1 microsecond each against 0.7 for a listed test; listing costs 0.7 a row. So a side is
    listed for the page only when PostgreSQL expects no more than PAGE_IDS rows (the two came
    even at about 3,000 of 2,000,000 addresses). Measured at 2,000,000 orders, the whole search:
    "Schmidt" (20,048 addresses) 22.9 ms listed, 15.6 walked; "en Sch" (5,604) 30.1 and 23.7;
    "en Schm" (1,201) 24.1 and 47.3."""

    def __init__(self, listing: QuerySet, side: QuerySet, key: str, field: str, first: list[int]):
        self.listing, self.side, self.key, self.field, self.first = listing, side, key, field, first
        self.listed: list[int] | None = None  # every matching row's key, once listed
        self.expected: float | None = None  # rows, by PostgreSQL's estimate, once asked
        self.tried = False

    def probes(self) -> Iterator[Q]:
        yield _any_of(self.field, self.first)
        if self.list_all(at_most=SIDE_IDS):
            yield _any_of(self.field, self.listed)
        else:
            yield Q(**{f"{self.field}__in": self.side.values(self.key)})

    def page(self) -> Q:
        if self.list_all(at_most=PAGE_IDS):
            return _any_of(self.field, self.listed)
        return Q(FencedExists(self.side.filter(**{self.key: OuterRef(self.field)})))

    def list_all(self, at_most: int) -> bool:
        """Whether every matching row is listed: tried once, when PostgreSQL expects no more
        than `at_most` of them, and listed when there are no more than SIDE_IDS."""
        if self.tried or len(self.first) > SIDE_IDS:
            return self.listed is not None
        if self.expected is None:
            self.expected = _expected_rows(self.listing)
        if self.expected <= at_most:
            self.tried = True
            keys = _keys(self.listing, self.key, SIDE_IDS + 1)
            self.listed = keys if len(keys) <= SIDE_IDS else None
        return self.listed is not None


def _ways(term: str) -> list[Way]:
    """The ways the term matches. A side's matching rows are listed first, up to SPARSE + 1 of
    them, so that the probe reads the orders by index whatever the planner thinks of the join
    (it hashed all 200,000 orders to join 111 addresses: 36 ms; by id, 5 ms) and the page can
    choose between walking the list and fetching the matches. A side with more rows than that
    is a `Long` way; a side without a match is no way at all."""
    ways: list[Way] = []
    for listing, side, key, field in _sides(term):
        limit = min(SPARSE, SIDE_IDS) + 1
        keys = _keys(listing, key, limit)
        if len(keys) == limit:
            ways.append(Long(listing, side, key, field, keys))
        elif keys:  # all of them, and no more than SIDE_IDS
            ways.append(Listed(_any_of(field, keys)))
    return ways


def _keys(listing: QuerySet, key: str, limit: int) -> list[int]:
    return list(listing.order_by().values_list(key, flat=True)[:limit])


def _expected_rows(listing: QuerySet) -> float:
    """How many rows PostgreSQL expects the listing to find (its plan's estimate, from the
    statistics of the index's expression: 40,249 for a first name on 40,000 of 2,000,000
    addresses, 20,125 for a surname on 20,000; at least 199 for anything rarer). Elsewhere 0:
    the listing goes on."""
    if connection.vendor != "postgresql":
        return 0
    sql, params = listing.order_by().values(listing.model._meta.pk.name).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        (plan,) = cursor.fetchone()
    return plan[0]["Plan"]["Plan Rows"]


def _fetched_by_id(ids: set[int]):
    """The matches, for a page that reads them by primary key and sorts them. On PostgreSQL the
    list is fenced (`OFFSET 0`), else the planner may walk the list's ordered index testing each
    order against it, expecting the matches spread evenly: for 400 orders among 2,000,000 it
    read 95,000 index entries to fill a page (11 ms) where reading the 400 by key takes 1."""
    if connection.vendor != "postgresql":
        return ids
    return RawSQL("SELECT unnest(%s::bigint[]) OFFSET 0", (sorted(ids),))


def search_orders(orders: QuerySet[Order], term: str) -> QuerySet[Order]:
    ways = _ways(term)
    if re.fullmatch(r"[0-9]{1,15}", term):  # ASCII digits only: "³".isdigit() is true too
        ways.insert(0, Listed(Q(pk=int(term))))
    found: set[int] = set()
    for way in ways:
        for probe in way.probes():
            # unordered: in the list's order, PostgreSQL walked every order to find a customer's
            ids = list(orders.filter(probe).order_by().values_list("pk", flat=True)[: SPARSE + 1])
            if len(ids) > SPARSE:
                result = orders.filter(Q.create([each.page() for each in ways], connector=Q.OR))
                result.count_cap = COUNT_CAP
                if len(ids) > COUNT_CAP:
                    result.bounded_count = len(ids)
                return result
        found.update(ids)
    result = orders.filter(pk__in=_fetched_by_id(found))
    result.count_cap, result.bounded_count = COUNT_CAP, len(found)
    return result
