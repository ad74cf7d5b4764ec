"""HTTP API: app factory, dependencies, problem+json errors, one router per domain."""
