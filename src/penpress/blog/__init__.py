"""Blog: posts, tags, comments and favorites."""
