package com.paymentengine;

import com.paymentengine.internal.Operation;
import com.paymentengine.internal.Transport;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/** The paged GET lists of the resources. */
final class Pages {
    private Pages() {}

    static <T> PagedIterable<T> of(Transport transport, String path, Map<String, String> filters, String field,
            Function<Map<String, ?>, T> parse, Integer pageSize, Long limit) {
        Function<Object, PagedIterable.Page<T>> reader = PagedIterable.pageReader(field, parse);
        return new PagedIterable<>((token, size) -> {
            Map<String, String> query = new LinkedHashMap<>(filters);
            query.put("pageSize", Integer.toString(size));
            query.put("pageToken", token);
            return transport.request(Operation.get(path, reader).withQuery(query));
        }, pageSize, limit);
    }
}
