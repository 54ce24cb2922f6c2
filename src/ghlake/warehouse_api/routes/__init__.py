"""The warehouse service's routers, one per resource."""
