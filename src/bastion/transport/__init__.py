"""Transport security: vehicles, drivers, varied routes, manifests, live GPS, dock hand-over."""
