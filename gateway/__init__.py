"""The public REST v1 edge for local runs and tests: transcodes the `google.api.http`
annotations of the compiled descriptor set to gRPC calls on the services."""
