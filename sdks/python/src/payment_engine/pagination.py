"""Lists that page by themselves.

Every `list(...)` returns a paginator without calling the API yet. Iterating it yields
every item, fetching the next page (`pageToken` = the last `nextPageToken`) only when
the current one is used up:

    for transaction in client.transactions.list(status="COMPLETED"):
        ...
    async for transaction in async_client.transactions.list(limit=500):
        ...

`limit` stops after that many items; `pages()` yields whole pages (`Page.items`,
`Page.next_page_token`) for callers that checkpoint a token and resume later with
`list(page_token=...)`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, Generic, TypeVar

from payment_engine import wire
from payment_engine.errors import InvalidResponseError

T = TypeVar("T")

# The engine's largest page; iterating uses it to make as few round trips as possible.
PAGE_SIZE_MAX: Final = 100
# A bound on any one iteration, so that a server bug can never loop a client forever.
PAGES_MAX: Final = 1_000_000


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    # None on the last page.
    next_page_token: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def parse_page(document: Any, key: str, parse_item: Callable[[dict[str, Any]], T]) -> Page[T]:
    data = wire.require_object(document, f"a page of {key}")
    return Page(
        items=[parse_item(item) for item in wire.objects(data, key)],
        next_page_token=wire.optional_text(data, "nextPageToken"),
        raw=data,
    )


def page_params(
    filters: dict[str, str | None], page_token: str | None, page_size: int | None
) -> dict[str, str]:
    """Query parameters for one page: the filters that are set, pageSize and pageToken."""
    params = {name: value for name, value in filters.items() if value is not None and value != ""}
    if page_size is not None:
        params["pageSize"] = str(page_size)
    if page_token:
        params["pageToken"] = page_token
    return params


class _PaginatorBase:
    def __init__(self, *, page_size: int | None, limit: int | None, page_token: str | None) -> None:
        if page_size is not None and not 1 <= page_size <= PAGE_SIZE_MAX:
            raise ValueError(f"page_size must be between 1 and {PAGE_SIZE_MAX}")
        if limit is not None and limit < 0:
            raise ValueError("limit must not be negative")
        self.page_size = page_size
        self.limit = limit
        self.page_token = page_token

    def _size_for(self, remaining: int | None) -> int:
        size = self.page_size or PAGE_SIZE_MAX
        return size if remaining is None else max(1, min(size, remaining))

    @staticmethod
    def _next_token(page: Page[Any], seen: set[str]) -> str | None:
        token = page.next_page_token
        if token is None:
            return None
        if token in seen:
            raise InvalidResponseError(f"The API returned page token {token[:40]!r} twice")
        seen.add(token)
        return token


class Paginator(_PaginatorBase, Generic[T]):
    def __init__(
        self,
        fetch: Callable[[str | None, int], Page[T]],
        *,
        page_size: int | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> None:
        super().__init__(page_size=page_size, limit=limit, page_token=page_token)
        self._fetch = fetch

    def pages(self) -> Iterator[Page[T]]:
        token = self.page_token
        seen: set[str] = set()
        remaining = self.limit
        for _ in range(PAGES_MAX):
            if remaining == 0:
                return
            page = self._fetch(token, self._size_for(remaining))
            if remaining is not None:
                page = Page(page.items[:remaining], page.next_page_token, page.raw)
                remaining -= len(page.items)
            yield page
            token = self._next_token(page, seen)
            if token is None:
                return
        raise InvalidResponseError(f"Listing stopped after {PAGES_MAX} pages")

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page.items

    def first_page(self) -> Page[T]:
        """Only the first page (one request)."""
        return self._fetch(self.page_token, self._size_for(self.limit))


class AsyncPaginator(_PaginatorBase, Generic[T]):
    def __init__(
        self,
        fetch: Callable[[str | None, int], Awaitable[Page[T]]],
        *,
        page_size: int | None = None,
        limit: int | None = None,
        page_token: str | None = None,
    ) -> None:
        super().__init__(page_size=page_size, limit=limit, page_token=page_token)
        self._fetch = fetch

    async def pages(self) -> AsyncIterator[Page[T]]:
        token = self.page_token
        seen: set[str] = set()
        remaining = self.limit
        for _ in range(PAGES_MAX):
            if remaining == 0:
                return
            page = await self._fetch(token, self._size_for(remaining))
            if remaining is not None:
                page = Page(page.items[:remaining], page.next_page_token, page.raw)
                remaining -= len(page.items)
            yield page
            token = self._next_token(page, seen)
            if token is None:
                return
        raise InvalidResponseError(f"Listing stopped after {PAGES_MAX} pages")

    async def _items(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def first_page(self) -> Page[T]:
        return await self._fetch(self.page_token, self._size_for(self.limit))

    async def to_list(self) -> list[T]:
        """Every item (mind `limit` on large lists)."""
        return [item async for item in self]
