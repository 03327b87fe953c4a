"""Layered networks: supernets, the batched forward pass and its compiled kernels, pictures,
PyGlove conversion."""
