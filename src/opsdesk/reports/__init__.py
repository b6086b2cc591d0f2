"""The daily report: what the desks did since the last one, on a Temporal Schedule."""
