"""Built-in esenas plugins (installed as ``esenas_plugins``); each module registers itself exactly
like a third-party plugin would."""
