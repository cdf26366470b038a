"""The API speaks JSON only, so the `Accept` header cannot make it fail with 406."""

from rest_framework.negotiation import BaseContentNegotiation


class JSONOnlyContentNegotiation(BaseContentNegotiation):
    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
