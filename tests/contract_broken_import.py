"""A plugin module that fails to import (for the isolation tests)."""

import esenas_no_such_dependency  # noqa: F401
