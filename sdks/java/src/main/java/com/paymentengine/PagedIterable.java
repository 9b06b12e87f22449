package com.paymentengine;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Function;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * A list that fetches its pages as it is iterated: {@code for (Transaction t :
 * client.transactions().list()) { … }}. Each iteration starts again from the first page; stop
 * early with {@code break} or bound it with the query's {@code limit}. Errors are thrown from
 * {@code next()} as the call's {@link com.paymentengine.model.PaymentEngineException}.
 */
public final class PagedIterable<T> implements Iterable<T> {
    /** Pages followed by one iteration at most, in case a server kept answering a next page. */
    public static final int PAGES_MAX = 1_000_000;
    public static final int PAGE_SIZE_MAX = 100;

    /** One page of a list: its items and the token of the next page (null on the last). */
    public record Page<T>(List<T> items, String nextPageToken) {}

    /** Fetches the page of a token (null for the first) with a page size. */
    @FunctionalInterface
    public interface PageFetcher<T> {
        Page<T> fetch(String pageToken, int pageSize);
    }

    private final PageFetcher<T> fetcher;
    private final Integer pageSize;
    private final Long limit;

    PagedIterable(PageFetcher<T> fetcher, Integer pageSize, Long limit) {
        if (pageSize != null && (pageSize < 1 || pageSize > PAGE_SIZE_MAX)) {
            throw new IllegalArgumentException("pageSize must be between 1 and " + PAGE_SIZE_MAX);
        }
        if (limit != null && limit < 0) {
            throw new IllegalArgumentException("limit must not be negative");
        }
        this.fetcher = fetcher;
        this.pageSize = pageSize;
        this.limit = limit;
    }

    /** Just the first page (for callers that keep the token themselves). */
    public Page<T> firstPage() {
        return fetcher.fetch(null, sizeFor(limit));
    }

    public Stream<T> stream() {
        return StreamSupport.stream(spliterator(), false);
    }

    /** Everything, in a list (bounded by the query's limit if it has one). */
    public List<T> toList() {
        List<T> all = new ArrayList<>();
        forEach(all::add);
        return all;
    }

    private int sizeFor(Long remaining) {
        int size = pageSize == null ? PAGE_SIZE_MAX : pageSize;
        return remaining == null ? size : (int) Math.max(1, Math.min(size, remaining));
    }

    @Override
    public Iterator<T> iterator() {
        return new Iterator<>() {
            private Iterator<T> current = null;
            private String token = null;
            private boolean lastPage = false;
            private int pages = 0;
            private long returned = 0;

            @Override
            public boolean hasNext() {
                if (limit != null && returned >= limit) {
                    return false;
                }
                while (current == null || !current.hasNext()) {
                    if (lastPage || pages >= PAGES_MAX) {
                        return false;
                    }
                    Page<T> page = fetcher.fetch(token, sizeFor(limit == null ? null : limit - returned));
                    pages++;
                    current = page.items().iterator();
                    token = page.nextPageToken();
                    lastPage = token == null || token.isEmpty();
                }
                return true;
            }

            @Override
            public T next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                returned++;
                return current.next();
            }
        };
    }

    static <T> Function<Object, Page<T>> pageReader(String field, Function<java.util.Map<String, ?>, T> parse) {
        return document -> {
            if (!(document instanceof java.util.Map)) {
                throw new com.paymentengine.model.InvalidResponseException("The answer is not a page", null, null, null);
            }
            java.util.Map<?, ?> json = (java.util.Map<?, ?>) document;
            Object items = json.get(field);
            List<T> parsed = new ArrayList<>();
            if (items instanceof List) {
                for (Object item : (List<?>) items) {
                    parsed.add(parse.apply(Resources.object(item, field)));
                }
            } else if (items != null) {
                throw new com.paymentengine.model.InvalidResponseException(field + " is not a list", null, null, null);
            }
            Object next = json.get("nextPageToken");
            return new Page<>(List.copyOf(parsed), next instanceof String ? (String) next : null);
        };
    }
}
