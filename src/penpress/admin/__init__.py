"""Administration: users, roles, comment moderation and site settings."""
