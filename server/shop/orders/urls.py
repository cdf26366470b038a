from django.urls import path

from . import views

urlpatterns = [
    path("orders/", views.OrderListView.as_view(), name="order-list"),
    path("orders/<int:pk>/", views.OrderDetailView.as_view(), name="order-detail"),
    path(
        "orders/<int:pk>/shipping-address/",
        views.OrderShippingAddressView.as_view(),
        name="order-shipping-address",
    ),
    path("admin/orders/", views.AdminOrderListView.as_view(), name="admin-order-list"),
    path("admin/orders/export.csv", views.AdminOrderExportView.as_view(), name="admin-order-export"),
]
