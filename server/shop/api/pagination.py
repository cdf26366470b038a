"""Page-number pagination with relative `next`/`previous` links: the links do not depend on the
Host header, so a cached page is the same bytes for every client. A page past the last is an
empty page (200, `results: []`, `previous` naming the last page), not a 404: a client looping
over pages, or reading a page that emptied since it was linked, gets an answer it can handle."""

from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import Page
from django.core.paginator import Paginator as DjangoPaginator
from django.utils.functional import cached_property
from rest_framework import pagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from shop.core.errors import FieldCode, FieldError, InvalidInput
from shop.core.keyset import beyond, ordering_of


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
    a page costs the same whatever the size of the table; beyond the cap, `count` is the cap. A
    queryset may carry a lower cap of its own (`count_cap`) and its count up to that cap + 1
    (`bounded_count`), as the order search does: it is then not counted again. A clone (one
    filtered further) carries neither and is counted."""

    count_cap = 10_000

    @cached_property
    def cap(self) -> int:
        return min(self.count_cap, getattr(self.object_list, "count_cap", self.count_cap))

    @cached_property
    def matches_beyond_cap(self) -> bool:
        return self._bounded_count > self.cap

    @cached_property
    def _bounded_count(self) -> int:
        known = getattr(self.object_list, "bounded_count", None)
        if known is not None:
            return known
        return self.object_list.order_by()[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._bounded_count, self.cap)


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


class KeysetCursorPagination(CappedCountPagination):
    """`CappedCountPagination` whose `next` and `previous` links are signed keyset cursors
    (`?cursor=`): the first pages can still be reached by number, and every page reached through
    a link is read from where the last one ended (`shop.core.keyset`), so a deep page costs what
    the second does. The queryset must be ordered by one key and then the id, in one direction."""

    cursor_query_param = "cursor"
    salt = "shop.api.pagination.cursor"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.ordering = ordering_of(queryset)
        self.key_field = queryset.model._meta.get_field(self.ordering[0].lstrip("-"))
        raw = request.query_params.get(self.cursor_query_param)
        if raw is None:
            self.cursor_mode = False
            rows = super().paginate_queryset(queryset, request, view)
            more = self.page.has_next() or (
                self.page.paginator.matches_beyond_cap and self.page.number == self.page.paginator.num_pages
            )
            self.next_row = rows[-1] if rows and more else None
            return rows
        if self.page_query_param in request.query_params:
            raise self._invalid("Send either `cursor` or `page`, not both.")
        self.cursor_mode = True
        self.paginator = self.django_paginator_class(queryset, self.get_page_size(request))  # the count
        value, pk, backwards = self._decode(raw)
        size = self.get_page_size(request)
        seek = queryset.filter(beyond(value, pk, self.ordering, backwards=backwards))
        rows = list((seek.reverse() if backwards else seek)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        if backwards:
            rows.reverse()
        self.next_row = rows[-1] if rows and (more or backwards) else None
        self.previous_row = rows[0] if rows and (more or not backwards) else None
        return rows

    def _encode(self, row, *, backwards: bool = False) -> str:
        position = [self.ordering[0], self.key_field.value_to_string(row), row.pk, backwards]
        return signing.dumps(position, salt=self.salt, compress=True)

    def _decode(self, raw: str) -> tuple[object, int, bool]:
        try:
            key, value, pk, backwards = signing.loads(raw, salt=self.salt)
            if key != self.ordering[0]:
                raise ValueError("made for another ordering")
            return self.key_field.to_python(value), int(pk), bool(backwards)
        except (signing.BadSignature, ValueError, TypeError, DjangoValidationError) as exc:
            raise self._invalid(
                "This cursor is not one of this list's links (altered, or for another ordering)."
            ) from exc

    @staticmethod
    def _invalid(message: str) -> InvalidInput:
        return InvalidInput([FieldError.at("cursor", FieldCode.INVALID, message)])

    def _link(self, cursor: str) -> str:
        url = remove_query_param(self.request.get_full_path(), self.page_query_param)
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_next_link(self) -> str | None:
        return None if self.next_row is None else self._link(self._encode(self.next_row))

    def get_previous_link(self) -> str | None:
        if not self.cursor_mode:
            return super().get_previous_link()
        if self.previous_row is None:
            return None
        return self._link(self._encode(self.previous_row, backwards=True))

    def get_paginated_response(self, data):
        paginator = self.paginator if self.cursor_mode else self.page.paginator
        return Response(
            {
                "count": paginator.count,
                "count_capped": paginator.matches_beyond_cap,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )
