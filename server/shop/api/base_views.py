"""The base of every API view: DRF's views, handed a request whose hot attributes are its own.

DRF's `Request` wraps Django's and finds what it does not define (`method`, `META`) through
`__getattr__`, which Python calls only after the ordinary lookup has failed, raised and formatted
an `AttributeError`: about 6,000 CPU instructions an access. A cached product list made six such
accesses (DRF's dispatch reads `method` twice, the permission once, the authentication and the
conditional GET read `META`, the cache key the contract's query). `ApiRequest` defines them: the
list's hit went from 1,360,918 to 1,325,775 instructions (callgrind, counted as `make
bench-instructions` counts them, on a scratch database). The one left is DRF's own test for an
authenticated user (`_user`)."""

from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.views import APIView


class ApiRequest(Request):
    """DRF's request, reading these attributes of Django's request directly."""

    @property
    def method(self) -> str:
        return self._request.method

    @property
    def META(self) -> dict:
        return self._request.META

    @property
    def contract_query(self) -> tuple[tuple[str, str], ...]:
        """The query as the contract validated it (OpenAPIValidationMiddleware)."""
        return self._request.contract_query


class ApiRequestMixin:
    """Hands the view an `ApiRequest`: DRF's `initialize_request`, with the subclass."""

    def initialize_request(self, request, *args, **kwargs) -> ApiRequest:
        return ApiRequest(
            request,
            parsers=self.get_parsers(),
            authenticators=self.get_authenticators(),
            negotiator=self.get_content_negotiator(),
            parser_context=self.get_parser_context(request),
        )


class ApiView(ApiRequestMixin, APIView):
    pass


class GenericApiView(ApiRequestMixin, GenericAPIView):
    pass
