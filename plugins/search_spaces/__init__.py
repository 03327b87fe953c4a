"""Built-in search spaces: one plugin per module."""
