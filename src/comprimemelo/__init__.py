"""comprimemelo: upload files, get them back compressed."""

__version__ = "0.1.0"
