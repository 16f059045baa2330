"""Sensors that wait for AWS Entity Resolution and Clean Rooms work."""
