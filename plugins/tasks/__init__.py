"""Built-in tasks (environments and objectives): one plugin per module."""
