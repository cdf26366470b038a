from django.http import FileResponse
from rest_framework.generics import GenericAPIView

from shop.orders.selectors import order_get_for, order_not_found

from .services import ready_invoice_file


class OrderReportView(GenericAPIView):
    """The order's PDF invoice, for its owner or staff; 404 until it has been written."""

    def get(self, request, pk: int):
        path = ready_invoice_file(order=order_get_for(user=request.user, order_id=pk))
        if path is None:
            raise order_not_found()
        return FileResponse(  # a download (Content-Disposition: attachment), in browsers and Swagger UI
            path.open("rb"),
            content_type="application/pdf",
            as_attachment=True,
            filename=f"invoice-order-{pk}.pdf",
        )
