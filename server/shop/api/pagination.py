"""Page-number pagination with relative `next`/`previous` links: the links do not depend on the
Host header, so a cached page is the same bytes for every client. A page past the last is an
empty page (200, `results: []`, `previous` naming the last page), not a 404: a client looping
over pages, or reading a page that emptied since it was linked, gets an answer it can handle."""

from django.core.paginator import Page
from django.core.paginator import Paginator as DjangoPaginator
from django.utils.functional import cached_property
from rest_framework import pagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        # The contract has made `page` an integer from 1 to 1,000,000 before any view runs.
        number = int(request.query_params.get(self.page_query_param) or 1)
        if number > paginator.num_pages:
            self.page = Page([], number, paginator)
        else:
            self.page = paginator.page(number)
        return list(self.page)

    @property
    def past_the_end(self) -> bool:
        return self.page.number > self.page.paginator.num_pages

    def get_next_link(self) -> str | None:
        if not self.page.has_next():
            return None
        return replace_query_param(
            self.request.get_full_path(), self.page_query_param, self.page.next_page_number()
        )

    def get_previous_link(self) -> str | None:
        if not self.page.has_previous():
            return None
        url = self.request.get_full_path()
        page_number = self.page.paginator.num_pages if self.past_the_end else self.page.previous_page_number()
        if page_number == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, page_number)


class CappedCountPaginator(DjangoPaginator):
    """Counts at most `count_cap + 1` rows (`SELECT COUNT(*) FROM (... LIMIT cap + 1)`), so that
    a page costs the same whatever the size of the table; beyond the cap, `count` is the cap."""

    count_cap = 10_000

    @cached_property
    def matches_beyond_cap(self) -> bool:
        return self._bounded_count > self.count_cap

    @cached_property
    def _bounded_count(self) -> int:
        return self.object_list.order_by()[: self.count_cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._bounded_count, self.count_cap)


class CappedCountPagination(PageNumberPagination):
    """Page-number pagination whose `count` is exact up to CappedCountPaginator.count_cap and
    which says so in `count_capped`."""

    django_paginator_class = CappedCountPaginator

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.paginator.count,
                "count_capped": self.page.paginator.matches_beyond_cap,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )
