package com.paymentengine;

import com.paymentengine.model.InvalidResponseException;
import java.util.Map;
import java.util.function.Function;

/** Reading answers into models: shared by the resources. */
final class Resources {
    private Resources() {}

    @SuppressWarnings("unchecked")
    static Map<String, ?> object(Object document, String what) {
        if (!(document instanceof Map)) {
            throw new InvalidResponseException("The answer is not " + what, null, null, null);
        }
        return (Map<String, ?>) document;
    }

    static <T> Function<Object, T> reader(Function<Map<String, ?>, T> parse, String what) {
        return document -> parse.apply(object(document, what));
    }

    static Map<String, Object> compact(Object... namesAndValues) {
        Map<String, Object> body = new java.util.LinkedHashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            if (namesAndValues[i + 1] != null) {
                body.put((String) namesAndValues[i], namesAndValues[i + 1]);
            }
        }
        return body;
    }
}
