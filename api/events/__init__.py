"""Outgoing events: webhook deliveries (admin) and the marketing opt-out."""
