"""The product's routes exactly as config.urls has them (the same resolution cost for every path
the bench measures), then the bench's own; and the product's error handlers."""

from django.urls import path

from config.urls import handler400, handler404, handler500  # noqa: F401 - Django reads them here
from config.urls import urlpatterns as product_urlpatterns

from . import plain, views

urlpatterns = [
    *product_urlpatterns,
    path("bench/ceiling", views.ceiling, name="bench-ceiling"),
    path("bench/write-ceiling", views.write_ceiling, name="bench-write-ceiling"),
    path("bench/plain/orders/", plain.PlainOrderCreate.as_view(), name="bench-plain-orders"),
    path("bench/plain/products/", plain.PlainProductList.as_view(), name="bench-plain-products"),
]
