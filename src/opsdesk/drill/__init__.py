"""``opsdesk drill``: a crash drill on a fleet of real processes (docs/reliability.md)."""
