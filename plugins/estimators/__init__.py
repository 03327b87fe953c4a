"""Built-in ES estimators: one plugin per module."""
