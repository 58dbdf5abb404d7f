"""The programme report (admin)."""
