"""Helpers shared by the compatibility namespaces `legacy_mnist.fluid`, `.v2` and `.vision`."""
