"""Runs and the command line: configs, run directories, evaluation and reports, ablation
studies, the CLI."""
