"""Member segments and their CSV export (admin)."""
