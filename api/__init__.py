"""Transport: strawberry types and thin resolvers, auth, webhooks, the ASGI app factory."""
