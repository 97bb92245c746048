"""The audit log: who did what to which object, when and from where, kept for good."""
