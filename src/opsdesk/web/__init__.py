"""The FastAPI app: JSON API, dashboard, health."""
