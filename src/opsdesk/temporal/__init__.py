"""Temporal plumbing shared by both desks: connection, dev server, search attributes, worker."""
