package com.paymentengine.model;

import java.math.BigDecimal;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;

/** ISO 4217 minor-unit exponents of the currencies the engine settles (as the engine's table). */
public final class Currencies {
    private static final Map<String, Integer> EXPONENTS = new HashMap<>();

    static {
        for (String code : new String[] {"USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK",
                "DKK", "PLN", "CZK", "MXN", "BRL", "INR", "SGD", "HKD", "CNY", "ZAR"}) {
            EXPONENTS.put(code, 2);
        }
        for (String code : new String[] {"JPY", "KRW", "ISK"}) {
            EXPONENTS.put(code, 0);
        }
        for (String code : new String[] {"BHD", "KWD", "OMR", "JOD", "TND"}) {
            EXPONENTS.put(code, 3);
        }
    }

    private Currencies() {}

    /** How many decimals the currency allows, when the SDK knows the currency. */
    public static OptionalInt exponent(String currencyCode) {
        if (currencyCode == null) {
            return OptionalInt.empty();
        }
        Integer exponent = EXPONENTS.get(currencyCode.toUpperCase(Locale.ROOT));
        return exponent == null ? OptionalInt.empty() : OptionalInt.of(exponent);
    }

    /**
     * Refuses an amount with more decimals than its currency allows ({@code 10.001} USD), before
     * anything is sent: nothing is ever rounded. Trailing zeros are fine ({@code 10.500} USD).
     */
    public static void checkScale(BigDecimal amount, String currencyCode, String field) {
        OptionalInt exponent = exponent(currencyCode);
        if (amount == null || exponent.isEmpty()) {
            return;
        }
        int significantScale = amount.signum() == 0 ? 0 : amount.stripTrailingZeros().scale();
        if (significantScale > exponent.getAsInt()) {
            throw new IllegalArgumentException(field + " " + amount.toPlainString() + " has more decimals than "
                    + currencyCode.toUpperCase(Locale.ROOT) + " allows (" + exponent.getAsInt() + ")");
        }
    }

    /** The same number written with its currency's decimals ({@code 1.5} USD becomes {@code 1.50}). */
    static BigDecimal inCurrency(BigDecimal value, String currencyCode) {
        OptionalInt exponent = exponent(currencyCode);
        if (exponent.isEmpty() || value.scale() == exponent.getAsInt()) {
            return value;
        }
        try {
            return value.setScale(exponent.getAsInt());
        } catch (ArithmeticException wouldRound) {
            return value;
        }
    }
}
