"""Evaluate the layered defence: EASI P(I), adversary paths, most vulnerable path, what-if."""
