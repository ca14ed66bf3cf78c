"""The web UI: server-rendered pages (``pages``), their templates and static assets."""
