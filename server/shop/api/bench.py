"""The benchmark's ceilings, routed only when BENCH_CEILING is on (`make bench` sets it).

- `ceiling`: the cost of Django plus one Memcached read, with no authentication and no request
  validation: what a cached read could cost at best.
- `write_ceiling`: what placing an order could cost at best: a plain Django view (no DRF, no
  contract validation, no authentication, no throttle, no cache invalidation) that takes the same
  row locks and writes the same rows in one transaction, then publishes the same one task chain.
"""

import json
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

CEILING_KEY = "bench:ceiling"
CEILING_BODY = b'{"status": "ok"}'


def ceiling(request: HttpRequest) -> HttpResponse:
    body = cache.get(CEILING_KEY)
    if body is None:
        body = CEILING_BODY
        cache.set(CEILING_KEY, body, timeout=None)
    return HttpResponse(body, content_type="application/json")


@csrf_exempt
@require_POST
def write_ceiling(request: HttpRequest) -> HttpResponse:
    """`{"items": [{"product": id, "quantity": n}]}` for the first customer; 201, or 409 when short."""
    from shop.accounts.models import User
    from shop.catalog.models import Product
    from shop.orders.models import Order, OrderItem, OrderStatus, OrderStatusChange
    from shop.orders.outbox import record_order_placed

    lines = {line["product"]: line["quantity"] for line in json.loads(request.body)["items"]}
    user = User.objects.filter(is_staff=False).order_by("pk").first()
    with transaction.atomic():
        products = list(Product.objects.filter(pk__in=list(lines)).order_by("pk").select_for_update())
        if len(products) != len(lines) or any(product.stock < lines[product.pk] for product in products):
            return JsonResponse({"error": "short"}, status=409)
        for product in products:
            product.stock -= lines[product.pk]
        Product.objects.bulk_update(products, ["stock"])
        total = sum((product.price * lines[product.pk] for product in products), Decimal("0"))
        order = Order.objects.create(
            user=user, status=OrderStatus.PENDING, total_price=total, currency=settings.SHOP_CURRENCY
        )
        OrderItem.objects.bulk_create(
            OrderItem(
                order=order,
                product_id=product.pk,
                product_name=product.name,
                quantity=lines[product.pk],
                price_at_purchase=product.price,
            )
            for product in products
        )
        OrderStatusChange.objects.create(order=order, to_status=OrderStatus.PENDING, changed_by=user)
        record_order_placed(order)  # the invoice and e-mail rows, stamped; one publish after commit
    return JsonResponse({"id": order.pk}, status=201)
