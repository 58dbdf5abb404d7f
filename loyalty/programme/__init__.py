"""The programme: its configuration (admin, cache), earning, tiers and actions."""
