from django.contrib import admin
from django.urls import include, path

from shop.api import health, metrics
from shop.api import views as api_views

handler400 = "shop.api.views.bad_request"
handler404 = "shop.api.views.not_found"
handler500 = "shop.api.views.server_error"

urlpatterns = [
    path("", api_views.index, name="index"),
    path("favicon.ico", api_views.favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("problems/<str:code>", api_views.problem_type, name="problem-type"),
    path("api/openapi.yaml", api_views.openapi_yaml, name="openapi-yaml"),
    path("api/docs/", api_views.SwaggerUIView.as_view(), name="swagger-ui"),
    path("api/redoc/", api_views.RedocView.as_view(), name="redoc"),
    path("api/auth/", include("shop.accounts.urls")),
    path("api/addresses/", include("shop.addresses.urls")),
    path("api/products/", include("shop.catalog.urls")),
    path("api/", include("shop.orders.urls")),
    path("api/", include("shop.invoices.urls")),
    path("admin/", admin.site.urls),
]
