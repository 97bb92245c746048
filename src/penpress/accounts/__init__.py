"""Accounts: users, roles, follows and login sessions."""
