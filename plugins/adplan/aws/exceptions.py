"""Errors raised when AWS reports that the work we waited for failed."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowException


class EntityResolutionJobFailedError(AirflowException):
    """An Entity Resolution matching job ended FAILED; the message carries the service's reason."""


class CleanRoomsQueryFailedError(AirflowException):
    """A Clean Rooms protected query ended FAILED, CANCELLED or TIMED_OUT; the message carries code and reason."""
