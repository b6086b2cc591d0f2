"""Notifications: the outbox, email over SMTP, and the child workflow that sends them."""
