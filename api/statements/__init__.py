"""A member's statement (what a reminder e-mail or the app's home screen shows)."""
