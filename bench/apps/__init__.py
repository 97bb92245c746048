"""Reference apps served under the same gunicorn settings as Penpress, for scale."""
