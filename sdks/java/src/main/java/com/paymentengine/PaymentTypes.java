package com.paymentengine;

import com.paymentengine.internal.Operation;
import com.paymentengine.internal.Transport;
import com.paymentengine.model.PaymentType;
import java.util.ArrayList;
import java.util.List;

/** {@code client.paymentTypes()}: the rails and their limits. */
public final class PaymentTypes {
    static final String PATH = "/api/v1/payment-types";

    private final Transport transport;

    PaymentTypes(Transport transport) {
        this.transport = transport;
    }

    public List<PaymentType> list() {
        return transport.request(Operation.get(PATH, document -> {
            Object items = Resources.object(document, "a payment type list").get("paymentTypes");
            List<PaymentType> types = new ArrayList<>();
            if (items instanceof List) {
                for (Object item : (List<?>) items) {
                    types.add(PaymentType.fromJson(Resources.object(item, "a payment type")));
                }
            }
            return List.copyOf(types);
        }));
    }

    /** The payment type with this id, if the engine offers it. */
    public java.util.Optional<PaymentType> get(String paymentTypeId) {
        return list().stream().filter(type -> type.getId().equals(paymentTypeId)).findFirst();
    }
}
