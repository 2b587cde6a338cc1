"""Repair points, spare stock, exchanges, deposits (issue 4)."""
