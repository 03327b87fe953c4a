"""Built-in loggers: plugins that record each run somewhere besides metrics.csv."""
