from django.urls import path

from . import views

urlpatterns = [path("orders/<int:pk>/report/", views.OrderReportView.as_view(), name="order-report")]
