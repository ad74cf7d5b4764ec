"""Kernel of Bastion: events, context, bus, clock and errors; imports nothing else from bastion."""
