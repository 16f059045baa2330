"""Operators that start AWS Entity Resolution and Clean Rooms work."""
