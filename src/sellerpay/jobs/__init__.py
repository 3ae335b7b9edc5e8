"""Jobs: the task runner, Celery or in-process, running the same task functions.

tasks       the task functions and `TASKS` (queue, period, time limits, exclusivity);
            `run_task` runs one the same way in both modes
embedded    worker threads and a scheduler in one process (embedded mode)
celery_app  the same tasks as Celery tasks over RabbitMQ, with beat (distributed mode)
scheduler   the in-process scheduler of money in that `sellerpay serve` runs
leases      leases with fencing tokens: a scheduled task never runs twice at once
fanout      a payout run planned in chunks, one task per chunk, completed once
inbox       bank files kept (encrypted) from collection until imported
stats       job and bank call statistics, read by /metrics
context     what a task needs: database, clock, settings, connections, `dispatch`
rules       the pure decisions: lease grants, chunk resends, histogram buckets
"""
