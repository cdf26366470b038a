"""The benchmark's ceilings (routed only in the bench's stack: contract_tests/bench/settings.py).

- `ceiling`: the cost of Django plus one Memcached read, with no authentication and no request
  validation: what a cached read could cost at best.
- `write_ceiling`: what placing an order could cost at best: the service that places an order
  (`place_order`, the only way an order is written) called from a plain Django view: no DRF, no
  contract validation, no authentication, no throttle, no idempotency key.
"""

import json

from django.core.cache import cache
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
    from shop.core.errors import DomainError
    from shop.orders.services import place_order

    user = User.objects.filter(is_staff=False).order_by("pk").first()
    try:
        order, _ = place_order(user=user, items=json.loads(request.body)["items"])
    except DomainError:
        return JsonResponse({"error": "short"}, status=409)
    return JsonResponse({"id": order.pk}, status=201)
