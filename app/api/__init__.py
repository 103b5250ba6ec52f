"""JSON controllers, one per resource."""
