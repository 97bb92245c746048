"""Uploaded images: checked, cleaned and resized on upload, kept behind a storage interface."""
