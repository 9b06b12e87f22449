package com.paymentengine.model;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** Reads typed fields out of a decoded JSON object; a field of the wrong type is an error. */
final class Fields {
    private final Map<String, ?> json;
    private final String what;

    private Fields(Map<String, ?> json, String what) {
        this.json = json;
        this.what = what;
    }

    static Fields of(Map<String, ?> json, String what) {
        if (json == null) {
            throw new InvalidResponseException("The answer has no " + what, null, null, null);
        }
        return new Fields(json, what);
    }

    @SuppressWarnings("unchecked")
    static Map<String, ?> object(Object value, String what) {
        if (!(value instanceof Map)) {
            throw new InvalidResponseException("The answer is not " + what, null, null, null);
        }
        return (Map<String, ?>) value;
    }

    private InvalidResponseException wrong(String name, String expected) {
        return new InvalidResponseException(
                "Field " + name + " of " + what + " is not " + expected, null, null, null);
    }

    String string(String name) {
        Object value = json.get(name);
        if (value == null) {
            return null;
        }
        if (!(value instanceof String)) {
            throw wrong(name, "a string");
        }
        return (String) value;
    }

    String requiredString(String name) {
        String value = string(name);
        if (value == null || value.isEmpty()) {
            throw new InvalidResponseException(what + " has no " + name, null, null, null);
        }
        return value;
    }

    BigDecimal decimal(String name) {
        Object value = json.get(name);
        if (value == null) {
            return null;
        }
        if (value instanceof BigDecimal) {
            return (BigDecimal) value;
        }
        if (value instanceof Long) {
            return BigDecimal.valueOf((Long) value);
        }
        if (value instanceof String) {
            try {
                return new BigDecimal((String) value);
            } catch (NumberFormatException e) {
                throw wrong(name, "a number");
            }
        }
        throw wrong(name, "a number");
    }

    /** An amount with its currency's decimals put back (JSON drops trailing zeros). */
    BigDecimal amount(String name, String currencyCode) {
        BigDecimal value = decimal(name);
        return value == null ? null : Currencies.inCurrency(value, currencyCode);
    }

    Long integer(String name) {
        Object value = json.get(name);
        if (value == null) {
            return null;
        }
        if (value instanceof Long) {
            return (Long) value;
        }
        if (value instanceof String) {
            try {
                return Long.parseLong((String) value);
            } catch (NumberFormatException e) {
                throw wrong(name, "an integer");
            }
        }
        if (value instanceof BigDecimal) {
            try {
                return ((BigDecimal) value).longValueExact();
            } catch (ArithmeticException e) {
                throw wrong(name, "an integer");
            }
        }
        throw wrong(name, "an integer");
    }

    int integerOr(String name, int fallback) {
        Long value = integer(name);
        return value == null ? fallback : Math.toIntExact(value);
    }

    Boolean bool(String name) {
        Object value = json.get(name);
        if (value == null) {
            return null;
        }
        if (!(value instanceof Boolean)) {
            throw wrong(name, "a boolean");
        }
        return (Boolean) value;
    }

    Instant instant(String name) {
        String value = string(name);
        if (value == null || value.isEmpty()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(value).toInstant();
        } catch (DateTimeParseException e) {
            throw wrong(name, "an RFC 3339 timestamp");
        }
    }

    Map<String, Object> map(String name) {
        Object value = json.get(name);
        if (value == null) {
            return Collections.emptyMap();
        }
        if (!(value instanceof Map)) {
            throw wrong(name, "an object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) value;
        return Collections.unmodifiableMap(new LinkedHashMap<>(map));
    }

    Map<String, ?> nested(String name) {
        Object value = json.get(name);
        if (value == null) {
            return null;
        }
        return object(value, name + " of " + what);
    }

    List<String> strings(String name) {
        return list(name, element -> {
            if (!(element instanceof String)) {
                throw wrong(name, "a list of strings");
            }
            return (String) element;
        });
    }

    <T> List<T> objects(String name, Function<Map<String, ?>, T> parse) {
        return list(name, element -> parse.apply(object(element, "an element of " + name)));
    }

    private <T> List<T> list(String name, Function<Object, T> parse) {
        Object value = json.get(name);
        if (value == null) {
            return Collections.emptyList();
        }
        if (!(value instanceof List)) {
            throw wrong(name, "a list");
        }
        List<T> result = new ArrayList<>();
        for (Object element : (List<?>) value) {
            result.add(parse.apply(element));
        }
        return Collections.unmodifiableList(result);
    }
}
