"""What users and workers do, on the domain, through the ports: create a task
(``intake``) and read, list, delete or expire one (``tasks``); claim and hold
one (``leases``); accounts (``users``, ``passwords``, ``tokens``,
``verification``, ``accounts``, ``quotas``); idempotency keys; sealing an
archive password for its trip; deleting stored objects without losing one
(``garbage``)."""
