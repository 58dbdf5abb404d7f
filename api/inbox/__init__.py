"""The inbox of shop-platform deliveries (admin): list them, replay a parked one."""
