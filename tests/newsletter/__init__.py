"""Tests of the newsletter: subscribing, sending, the owner's view."""
