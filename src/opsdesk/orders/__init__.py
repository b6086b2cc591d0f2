"""The Order Ops desk."""
