# One image for every process of the engine: the four services (each runs its own
# background workers), the Python gateway, and `payment-engine migrate`. A Deployment
# picks its process with `args` (a module for `python -m`), e.g.
#   args: ["services.accounts.server"]      args: ["gateway.server"]
# and the migration Job with `command: ["payment-engine", "migrate"]`.
# The Envoy gateway uses the upstream envoyproxy/envoy image with the generated config.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/engine
WORKDIR /src
# The generated stubs package first: it changes less often than the server code.
COPY gen/python/ gen/python/
RUN /opt/engine/bin/pip install ./gen/python
COPY pyproject.toml ./
COPY corelib/ corelib/
COPY services/ services/
COPY gateway/ gateway/
COPY launcher/ launcher/
COPY portal/ portal/
RUN /opt/engine/bin/pip install .

FROM python:3.11-slim-bookworm
RUN groupadd --system --gid 10001 engine \
    && useradd --system --uid 10001 --gid engine --no-create-home --shell /usr/sbin/nologin engine
COPY --from=build /opt/engine /opt/engine
# GRPC_EXPERIMENTS: the gRPC core experiments every process runs with
# (corelib/grpc_experiments.py says why).
ENV PATH=/opt/engine/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GRPC_EXPERIMENTS=-event_engine_client,-event_engine_listener
# Runs with a read-only root filesystem: the only writable place is /tmp.
WORKDIR /tmp
USER 10001:10001
EXPOSE 8080 50051 50052 50053 50054 9090
# Kubernetes probes each process (gRPC health, or /readyz for the gateway).
HEALTHCHECK NONE
ENTRYPOINT ["python", "-m"]
CMD ["gateway.server"]
