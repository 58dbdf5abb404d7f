"""Shop platforms in: each platform's deliveries mapped to the domain's inputs (one module per
platform, its field names stop there), the commands they ask for, and the inbox that keeps
every signed delivery and applies it once."""
