"""Hooks for AWS services the Amazon provider has no hook for."""
