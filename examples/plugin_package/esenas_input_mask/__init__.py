"""An example esenas plugin package (see docs/plugins.md)."""
