"""The REST API, one blueprint per area: auth, tasks, uploads, notifications,
account; system endpoints (health, readiness, metrics, the OpenAPI document)."""
