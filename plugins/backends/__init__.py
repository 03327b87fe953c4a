"""Built-in execution backends: one plugin per module."""
