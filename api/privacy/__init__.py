"""Privacy and accountability: a member's export and erasure, token revocation, the audit log."""
