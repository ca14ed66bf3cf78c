"""Telling users that a task finished or failed: by e-mail and by signed webhook.

The worker records events in a durable outbox (``outbox``) when a task
finishes (``task_finished_hook``); a sender thread in each worker process
(``Sender``) delivers them, retrying with backoff. Webhook URLs are checked
against SSRF (``targets``) and events are signed (``signing``).
"""

from comprimemelo.notifications.preferences import attach_task_webhook, validate_task_webhook
from comprimemelo.notifications.sender import Sender, task_finished_hook
from comprimemelo.notifications.targets import UnsafeTarget, validate_webhook_url

__all__ = [
    "Sender",
    "UnsafeTarget",
    "attach_task_webhook",
    "task_finished_hook",
    "validate_task_webhook",
    "validate_webhook_url",
]
