"""Built-in architecture controllers: one plugin per module."""
