"""Shop platforms' own webhooks: each checks its platform's signature and hands the delivery to
the inbox (``loyalty.platforms``)."""
