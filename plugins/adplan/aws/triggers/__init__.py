"""Triggers that wait for AWS Entity Resolution and Clean Rooms work in the triggerer."""
