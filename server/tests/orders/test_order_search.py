"""The staff's order search (`q`): number, customer, recipient, postal code, product as ordered;
both plans (a rare term fetched by id, a common one read in the list's order) answer the same."""

import importlib
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shop.orders import search
from shop.orders.models import OrderAddress, OrderItem
from shop.orders.services import place_order
from tests.helpers import ADDRESS, assert_problem

migration_0008 = importlib.import_module("shop.orders.migrations.0008_search_statistics")
migration_0009 = importlib.import_module("shop.orders.migrations.0009_search_word_one_letter")

pytestmark = pytest.mark.django_db

LIST = "/api/admin/orders/"


@pytest.fixture
def orders(alice, bob, make_product, make_user):
    carol = make_user("carol")
    carol.email = "carol@lovelace-labs.example"
    carol.save()
    kettle, lamp = make_product("Copper kettle", stock=50), make_product("Desk lamp", stock=50)
    cosy = make_product("Wool tea cosy", stock=50)

    def place(user, product, **address):
        shipping = {**ADDRESS, **address} if address is not None else None
        order, _ = place_order(
            user=user, items=[{"product": product.pk, "quantity": 1}], shipping_address=shipping
        )
        return order

    placed = {
        "alice_kettle": place(alice, kettle, name="Grace Hopper", postal_code="10115"),
        "bob_lamp": place(bob, lamp, name="Alan Turing", postal_code="CB2 1TN"),
        "carol_lamp": place(carol, lamp, name="Mary Somerville", postal_code="EH1 1YZ"),
        "bob_kettle": place(bob, kettle, name="Ada Lovelace", postal_code="SW1Y 4JH"),
        "alice_cosy": place(alice, cosy, name="Seán O'Brien-Smith", postal_code="N1 9GU"),
    }
    lamp.name = "Reading lamp"  # renamed after it was ordered: the orders keep "Desk lamp"
    lamp.save()
    return placed


@pytest.fixture(autouse=True)
def fresh_statistics():
    """The word indexes' statistics are kept per process: each test reads its own."""
    search._shares.clear()
    yield
    search._shares.clear()


@pytest.fixture(params=["sparse", "dense", "long sides", "long sides, sparse", "expected long", "no words"])
def plan(request, monkeypatch):
    """Every plan: by id (a rare term); the list read in its order, testing each order against
    the sides' listed rows (SPARSE = 0: every term is common); the same with every side probed
    by a subquery and asked per order with EXISTS (SIDE_IDS = 0 too: no side is short enough
    to list); sides too long to list but few orders (the first listed rows' probe is not
    enough, the subquery's is); sides PostgreSQL expects too long to list, of which only the
    first rows are; and terms of several words found by the trigram indexes, as
    when the statistics say their words are common (WORD_SHARE = -1), where the others find
    them through the word indexes (no statistics in a test database: the words are asked)."""
    if request.param in ("dense", "long sides"):
        monkeypatch.setattr(search, "SPARSE", 0)
    if request.param.startswith("long sides"):
        monkeypatch.setattr(search, "SIDE_IDS", 0)
    if request.param == "expected long":
        monkeypatch.setattr(search, "SPARSE", 0)
        monkeypatch.setattr(search, "_expected_rows", lambda listing: search.SIDE_IDS + 1)
    if request.param == "no words":
        monkeypatch.setattr(search, "_words_are_rare", lambda index, asked: False)
    return request.param


def found(client, query: str) -> set[int]:
    response = client.get(f"{LIST}?page_size=100&{query}")
    assert response.status_code == 200, response.content
    return {order["id"] for order in response.json()["results"]}


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("hopper", {"alice_kettle"}),  # recipient, any case
        ("CB2 1T", {"bob_lamp"}),  # postal code
        ("desk lamp", {"bob_lamp", "carol_lamp"}),  # the product's name as ordered
        ("reading", set()),  # its name now: not what was ordered
        ("bob", {"bob_lamp", "bob_kettle"}),  # username
        ("lovelace", {"bob_kettle", "carol_lamp"}),  # a recipient, and carol's e-mail
        ("nothing-like-it", set()),
        # several words: the first may end a word, the last start one, the inner ones are whole
        ("ada lovelace", {"bob_kettle"}),
        ("ace Hop", {"alice_kettle"}),  # "Grace Hopper"
        ("a Lovelace", {"bob_kettle"}),  # a first part of one letter
        ("Ada L", {"bob_kettle"}),  # a first name and an initial
        ("Lovelace Ada", set()),  # the words, not in that order
        ("ry  Somerville", set()),  # two spaces: not what was written
        ("ol tea cos", {"alice_cosy"}),  # a line's product, as ordered
        ("SEÁN O'BRIEN-S", {"alice_cosy"}),  # upper-cased by PostgreSQL as the index was
        ("Sean O'Brien", set()),  # an accent is a letter of its own
        ("x' & !y:* (z", set()),  # what tsquery would read as operators is quoted
        ("back\\ slash", set()),
    ],
)
def test_it_finds_orders_by_each_of_their_parts(client_for, staff, orders, plan, term, expected):
    assert found(client_for(staff), urlencode({"q": term})) == {orders[name].pk for name in expected}


def test_the_order_number_finds_that_order(client_for, staff, orders, plan):
    order = orders["carol_lamp"]
    assert order.pk in found(client_for(staff), f"q={order.pk}")


def test_digits_that_are_not_ascii_are_text(client_for, staff, orders):
    """ "³" and "٣" are digits to Python's str.isdigit(), not an order number (found by schemathesis)."""
    assert found(client_for(staff), "q=%C2%B3") == set()
    assert found(client_for(staff), "q=%D9%A3") == set()


def test_it_combines_with_the_filters_and_the_export(client_for, staff, orders, bob, plan):
    client = client_for(staff)
    client.patch(f"/api/orders/{orders['bob_lamp'].pk}/", {"status": "cancelled"}, format="json")
    assert found(client, "q=lamp&status=pending") == {orders["carol_lamp"].pk}
    assert found(client, f"q=kettle&user={bob.pk}") == {orders["bob_kettle"].pk}
    exported = b"".join(client.get("/api/admin/orders/export.csv?q=lamp").streaming_content).decode()
    assert sorted(int(line.split(",")[0]) for line in exported.splitlines()[1:]) == sorted(
        [orders["bob_lamp"].pk, orders["carol_lamp"].pk]
    )


@pytest.mark.parametrize("common", [False, True])
def test_the_probes_count_the_matches_up_to_the_search_cap(client_for, staff, orders, monkeypatch, common):
    """A search's count is exact up to COUNT_CAP; beyond it `count_capped`, and the rest through
    the `next` cursor. Either way the probes have counted: no COUNT query runs."""
    monkeypatch.setattr(search, "COUNT_CAP", 1 if common else 3)
    monkeypatch.setattr(search, "SPARSE", search.COUNT_CAP)
    client = client_for(staff)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"{LIST}?q=lamp").json()  # bob's and carol's
    assert not [query for query in queries if "COUNT(" in query["sql"].upper()]
    assert (page["count"], page["count_capped"]) == ((1, True) if common else (2, False))
    ids = [order["id"] for order in page["results"]]
    if common:
        assert len(ids) == 1 and page["next"] is not None
        ids += [order["id"] for order in client.get(page["next"]).json()["results"]]
    assert sorted(ids) == sorted([orders["bob_lamp"].pk, orders["carol_lamp"].pk])


def test_a_term_outside_the_contract_is_refused(client_for, staff):
    client = client_for(staff)
    for query in ("q=", "q=a%00b", "q=" + "x" * 101, "q=line%0Abreak"):
        assert_problem(client.get(f"{LIST}?{query}"), 400, "validation_error")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram indexes are PostgreSQL's")
def test_postgresql_has_a_trigram_index_for_every_substring_match():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%%_trgm'")
        indexes = dict(cursor.fetchall())
    assert set(indexes) == {
        "order_address_name_trgm",
        "order_address_postal_trgm",
        "order_item_product_name_trgm",
        "user_username_trgm",
        "user_email_trgm",
    }
    assert all("gin_trgm_ops" in definition and "upper" in definition for definition in indexes.values())


def test_a_term_of_several_words_asks_the_word_index_for_its_ends():
    assert search.affixes("Ben Schmidt") == ["<Ben", ">Schmidt"]
    assert search.affixes("Anna Maria Schmidt") == ["<Anna", ">Maria", ">Schmidt"]
    assert search.affixes("Ben M") == ["<Ben", ">M"]  # a first name and an initial
    assert search.affixes("a Lovelace") == ["<a", ">Lovelace"]
    assert search.affixes(" Ada") == [">Ada"]  # a word starts there
    assert search.affixes("Ben  M") == ["<Ben", ">M"]  # two spaces: the empty word asks nothing
    assert search.affixes("Schmidt") == []  # anywhere inside a word: nothing to ask
    assert search.affixes("a b") == ["<a", ">b"]  # asked only if the statistics call them rare


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the word indexes are PostgreSQL's")
def test_the_word_index_holds_each_start_and_end_of_every_word():
    with connection.cursor() as cursor:
        cursor.execute("SELECT shop_search_words('Ben  Schmidt-Ö'), shop_search_words('a')")
        words, single = cursor.fetchone()
    assert set(words.replace("'", "").split()) == {
        "<N", "<EN", "<BEN", "<Ö", "<-Ö", "<T-Ö", "<DT-Ö", "<IDT-Ö", "<MIDT-Ö", "<HMIDT-Ö", "<CHMIDT-Ö",
        "<SCHMIDT-Ö", ">B", ">BE", ">BEN", ">S", ">SC", ">SCH", ">SCHM", ">SCHMI", ">SCHMID", ">SCHMIDT",
        ">SCHMIDT-", ">SCHMIDT-Ö",
    }  # fmt: skip
    assert set(single.replace("'", "").split()) == {"<A", ">A"}  # a word of one letter too


def test_postgresql_is_asked_how_many_rows_a_listing_expects(orders):
    expected = search._expected_rows(OrderAddress.objects.filter(name__icontains="lovelace"))
    assert expected >= 1 if connection.vendor == "postgresql" else expected == 0


def listing_sql(client, term: str) -> str:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"{LIST}?{urlencode({'q': term})}").status_code == 200
    return "\n".join(query["sql"] for query in queries)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the word indexes are PostgreSQL's")
def test_the_word_index_is_asked_only_for_words_its_statistics_call_rare(
    client_for, staff, orders, monkeypatch
):
    client = client_for(staff)
    assert "shop_search_words" in listing_sql(client, "ada lovelace")  # no statistics yet
    assert "shop_search_words" not in listing_sql(client, "lovelace")  # one word: the trigrams
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_orderaddress; ANALYZE orders_orderitem")
    search._shares.clear()
    # five names: every word is on a fifth of them or more, far above WORD_SHARE
    assert "shop_search_words" not in listing_sql(client, "ada lovelace")
    monkeypatch.setattr(search, "WORD_SHARE", 0.5)  # the statistics are kept: no new read
    with CaptureQueriesContext(connection) as queries:
        assert found(client, "q=ada%20lovelace") == {orders["bob_kettle"].pk}
    assert "shop_search_words" in "\n".join(query["sql"] for query in queries)
    assert "pg_stats" not in "\n".join(query["sql"] for query in queries)


@pytest.mark.parametrize("few_expected", [False, True])
def test_a_common_terms_page_lists_a_long_side_only_when_few_rows_are_expected(
    client_for, staff, orders, monkeypatch, few_expected
):
    """The first listed rows' probe settles that "lamp" is common (SPARSE = 0, one line listed
    first). The rest of the side is then listed for the page only when PostgreSQL expects no
    more than PAGE_IDS rows (asked once); otherwise the page asks the side per order."""
    monkeypatch.setattr(search, "SPARSE", 0)
    asked = []

    def expected_rows(listing):
        asked.append(listing.model)
        return search.PAGE_IDS + (0 if few_expected else 1)  # either way no more than SIDE_IDS

    monkeypatch.setattr(search, "_expected_rows", expected_rows)
    monkeypatch.setattr(search, "_words_are_rare", lambda index, asked: False)
    with CaptureQueriesContext(connection) as queries:
        assert found(client_for(staff), "q=lamp") == {orders["bob_lamp"].pk, orders["carol_lamp"].pk}
    statements = [query["sql"] for query in queries]
    listed_whole = [sql for sql in statements if f"LIMIT {search.SIDE_IDS + 1}" in sql]
    page_start = 'SELECT "orders_order"."id", "orders_order"."user_id"'
    pages = [sql for sql in statements if sql.startswith(page_start)]
    asked_per_order = [sql for sql in pages if "OFFSET 0)" in sql]
    assert asked == [OrderItem]  # the only side with more rows than its first listing
    assert len(pages) == 1
    assert (len(listed_whole), len(asked_per_order)) == ((1, 0) if few_expected else (0, 1))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigram indexes are PostgreSQL's")
def test_the_trigram_expressions_keep_a_thousand_buckets_of_statistics():
    """migrations/0008: a term on one row in a thousand meets a bucket, so that the estimate
    that decides whether a side is listed is not the planner's floor."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attstattarget FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relname LIKE '%%_trgm'"
        )
        targets = dict(cursor.fetchall())
    assert targets == dict.fromkeys(migration_0008.INDEXES, migration_0008.STATISTICS)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the word indexes are PostgreSQL's")
@pytest.mark.django_db(transaction=True)  # REINDEX CONCURRENTLY refuses to run in a transaction
def test_the_one_letter_migration_drops_what_an_interrupted_rebuild_left_and_goes_back():
    """migrations/0009 run again after its rebuild was interrupted: the invalid copy PostgreSQL
    left behind (still written on every insert) is dropped, the index rebuilt; and reversed."""
    from django.apps import apps

    def run(shortest: int) -> None:
        with connection.schema_editor(atomic=False) as editor:
            migration_0009.affixes_from(shortest)(apps, editor)

    def words_of(text: str) -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT shop_search_words(%s)", [text])
            return set(cursor.fetchone()[0].replace("'", "").split())

    def copies() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT relname FROM pg_class WHERE relname LIKE 'order_%%_words_ccnew%%'")
            return [name for (name,) in cursor.fetchall()]

    with connection.cursor() as cursor:  # what an interrupted REINDEX CONCURRENTLY leaves
        cursor.execute("CREATE INDEX order_address_name_words_ccnew ON orders_orderaddress (name)")
        cursor.execute(
            "UPDATE pg_index SET indisvalid = false "
            "WHERE indexrelid = 'order_address_name_words_ccnew'::regclass"
        )
    assert copies() == ["order_address_name_words_ccnew"]
    run(2)  # reversed: the affixes of two letters or more, as migrations/0007 made them
    assert copies() == []
    assert words_of("Ben M") == {"<BEN", "<EN", ">BE", ">BEN"}
    run(1)
    assert words_of("Ben M") == {"<BEN", "<EN", "<N", "<M", ">B", ">BE", ">BEN", ">M"}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname LIKE 'order_%%_words'"
        )
        assert dict(cursor.fetchall()) == dict.fromkeys(migration_0009.INDEXES, True)
