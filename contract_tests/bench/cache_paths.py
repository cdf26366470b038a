"""Time per request of the cached read paths, hit against miss, in-process (Django's test client,
full middleware including request validation, JWT auth against the real database, real Memcached).

Run: `make bench-cache` (needs DATABASE_URL and MEMCACHED_LOCATION). Prints one line per path.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "server"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-" + "x" * 50)
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("OPENAPI_VALIDATE_RESPONSES", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2000"))


def per_request(client: Client, paths, headers) -> list[float]:
    samples = []
    for path in paths:
        start = time.perf_counter()
        response = client.get(path, **headers)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, response.content
    return samples


def report(name: str, samples: list[float]) -> float:
    samples.sort()
    median = statistics.median(samples) * 1000
    p99 = samples[int(len(samples) * 0.99)] * 1000
    print(f"{name:38} median {median:6.3f} ms   p99 {p99:6.3f} ms   ({len(samples)} requests)")
    return median


def main() -> None:
    from django.contrib.auth import get_user_model

    from shop.orders.services import place_order

    setup_test_environment()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    user = get_user_model().objects.get(username="customer")
    order, _ = place_order(user=user, items=[{"product": 1, "quantity": 1}])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {AccessToken.for_user(user)}", "HTTP_HOST": "localhost"}
    client = Client()

    client.get("/api/products/", **headers)  # warm
    hit = report("GET /api/products/ (cache hit)", per_request(client, ["/api/products/"] * ROUNDS, headers))
    miss_paths = [
        f"/api/products/?page_size={1 + i % 100}&search=e&min_price=0.{i % 100:02d}" for i in range(ROUNDS)
    ]
    miss = report("GET /api/products/ (cache miss)", per_request(client, miss_paths, headers))
    detail = f"/api/orders/{order.pk}/"
    client.get(detail, **headers)
    detail_hit = report("GET /api/orders/{id}/ (cache hit)", per_request(client, [detail] * ROUNDS, headers))
    from shop.orders.cache import invalidate_order_detail

    samples = []
    for _ in range(ROUNDS // 4):
        invalidate_order_detail(order.pk)
        samples += per_request(client, [detail], headers)
    detail_miss = report("GET /api/orders/{id}/ (cache miss)", samples)
    print(
        f"product list: a hit takes {hit / miss:.0%} of a miss; order detail: {detail_hit / detail_miss:.0%}"
    )


if __name__ == "__main__":
    main()
