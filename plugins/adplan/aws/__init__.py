"""AWS integrations the Amazon provider lacks: Entity Resolution and Clean Rooms.

Hooks, operators, sensors, triggers and waiters in the provider's own layout and style
(``hooks/``, ``operators/``, ``sensors/``, ``triggers/``, ``waiters/*.json``). This package
imports the Amazon provider and boto3, never adplan's engines.
"""
