"""Moving a site in and out: the Penpress export format, and imports from WordPress and Ghost."""
