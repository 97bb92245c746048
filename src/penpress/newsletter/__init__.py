"""The newsletter: readers subscribe by email (double opt-in) and posts are emailed to them.

``models.py`` holds subscribers, sends (one per post) and deliveries (one per post and
subscriber); ``services.py`` the subscribers' rules (subscribing, confirming, unsubscribing, the
owner's list, CSV import and export); ``sending.py`` who may email a post and how a send is
planned, claimed and recorded; ``tasks.py`` the Celery tasks that send; ``routes.py`` the
pages (subscribing, the emailed links, the owner's view under ``/admin/subscribers``).
See docs/newsletter.md.
"""
