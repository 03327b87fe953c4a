"""The plugin API: the interfaces, decision spaces, errors, hook specs, the plugin registry and
the conformance checkers."""
