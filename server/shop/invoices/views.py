import logging

from django.conf import settings
from django.http import FileResponse

from shop.api.base_views import GenericApiView
from shop.core.error_codes import ApiErrorCode
from shop.core.errors import Unavailable
from shop.core.storage import STORAGE_ERRORS
from shop.orders.selectors import order_get_for, order_not_found

logger = logging.getLogger(__name__)


class OrderReportView(GenericApiView):
    """The order's PDF invoice, for its owner or staff; 404 until it has been written. The file is
    streamed from its storage by this view, whatever the storage: the bucket of an object store
    stays private, and the owner-or-staff rule is the one place access is decided."""

    def get(self, request, pk: int):
        order = order_get_for(user=request.user, order_id=pk)
        try:
            invoice = getattr(order, "invoice", None)
            file = invoice.open_file() if invoice is not None else None
            if file is None:
                raise order_not_found()
            # FileResponse sizes the file (Content-Length) as it is made: an object store's file
            # is read here, inside the try, not half-way through the response.
            return FileResponse(  # a download (Content-Disposition: attachment), in browsers and Swagger UI
                file, content_type="application/pdf", as_attachment=True, filename=f"invoice-order-{pk}.pdf"
            )
        except STORAGE_ERRORS as exc:
            logger.warning(
                'event=storage_unavailable storage=invoices order_id=%s error="%s: %s" action=answer_503',
                pk,
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
            )
            raise Unavailable(
                f"The invoice store is not answering: try again in {settings.STORAGE_RETRY_AFTER} seconds.",
                code=ApiErrorCode.SERVICE_UNAVAILABLE,
                retry_after=settings.STORAGE_RETRY_AFTER,
            ) from exc
