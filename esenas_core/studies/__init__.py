"""Studies: a base config, named variants and/or grid axes, × seeds → runs, tables and plots.

- ``spec``: the study file (``Study``, ``Variant``, ``load_study``) and its runs (``StudyRun``,
  ``plan``);
- ``identity``: which run folders can be reused, resumed or extended (``RunDecision``,
  ``classify``), identified by their resolved config;
- ``driver``: ``run_study``, what ``esenas ablate`` does; ``execute``, ``progress``, ``worker``,
  ``pool`` and ``on_dask``: running the runs here, in N processes or on a dask cluster;
- ``stats`` and ``report``: IQM, P(A > B) and bootstrap intervals; the tables and plots.
"""
