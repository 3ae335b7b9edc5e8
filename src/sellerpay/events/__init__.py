"""Events: the outbox, signed webhooks, the broker publisher and consumer."""
