"""The Order Ops desk."""

TASK_QUEUE = "orders"
