"""Jobs: the task runner, Celery or in-process, running the same task functions."""
