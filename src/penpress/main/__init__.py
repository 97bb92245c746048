"""Site-wide pages: home, about."""
