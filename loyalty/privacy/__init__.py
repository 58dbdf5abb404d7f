"""Privacy and accountability: the audit log, a member's export and erasure, retention."""
