"""Site settings: identity and policies an administrator changes at run time."""
