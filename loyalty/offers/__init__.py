"""Offers: publishing trained models as precomputed rows, and serving them to members."""
