"""The operator's entry point: `payment-engine up`, `migrate` and `admin`.

It runs the engine locally on the same topology as Kubernetes — every service and the
gateway as its own OS process on loopback, over an embedded PostgreSQL — and watches them.
"""
