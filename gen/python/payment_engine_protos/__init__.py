"""Generated gRPC stubs and descriptor set of the Payment Engine contracts.

Produced by `python protos/generate.py`; never edit by hand.
"""

from importlib import resources


def descriptor_set_bytes() -> bytes:
    """The compiled FileDescriptorSet of every contract, imports included."""
    return (resources.files(__name__) / "descriptor_set.binpb").read_bytes()
