"""The Envoy edge for Kubernetes: its config is generated from the descriptor set and the
Python gateway's own route table, so the two edges route, authenticate and fail alike."""
