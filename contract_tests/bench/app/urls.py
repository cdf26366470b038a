from django.urls import include, path

from . import plain, views

urlpatterns = [
    path("bench/ceiling", views.ceiling, name="bench-ceiling"),
    path("bench/write-ceiling", views.write_ceiling, name="bench-write-ceiling"),
    path("bench/plain/orders/", plain.PlainOrderCreate.as_view(), name="bench-plain-orders"),
    path("bench/plain/products/", plain.PlainProductList.as_view(), name="bench-plain-products"),
    path("", include("config.urls")),
]
