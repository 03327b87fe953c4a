"""The ``esenas`` command: ``main`` (run, ablate, evaluate, report, ...), ``plugins`` (the
``plugins`` and ``check`` commands) and ``check`` (every registered plugin's checker)."""
