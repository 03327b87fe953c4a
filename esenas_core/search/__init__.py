"""esenas as a library: ``Search`` (ask/tell over one run, what ``esenas run`` uses),
``optimize`` (any Python objective over an architecture and θ), and studies from Python
(``run_study``, ``load_study_results``). docs/python.md."""

from esenas_core.engine.asking import Asked
from esenas_core.search.run import Search, optimize, resolve_config
from esenas_core.search.studies import StudyResults, load_study_results, run_study

__all__ = [
    "Asked",
    "Search",
    "StudyResults",
    "load_study_results",
    "optimize",
    "resolve_config",
    "run_study",
]
