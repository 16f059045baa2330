"""Error codes of the local clean-room engine, named like the service's where the service names them.

A protected query that fails carries ``error = {"code": ..., "message": ...}`` as ``GetProtectedQuery``
returns it. The codes, and where they come from:

- ``MALFORMED_QUERY``: the SQL does not parse, is not a single SELECT, or names a column the
  collaboration does not expose (the service's code for "syntax error or unsupported operation").
- ``INVALID_QUERY``: valid SQL that the analysis rules of the referenced tables do not allow (the
  service's ``ValidationException`` reason for a query rejected at ``StartProtectedQuery``).
- ``RESOURCE_NOT_FOUND``: an unknown member, configured table, analysis template or query id.
- ``RESOURCE_ACCESS_DENIED``: the member lacks an ability (``CAN_QUERY``, ``CAN_RECEIVE_RESULTS``), or a
  table owner has not approved the analysis template / the member as an analysis provider.
- ``INVALID_RESOURCE``: a configured table whose data location is missing or lacks allowed columns.
- ``PRIVACY_BUDGET_EXHAUSTED``: a differentially private query would exceed the collaboration's budget
  (the service refuses such queries; it names no code for it, so this one is ours).
- ``TIMED_OUT``: the query ran longer than its timeout (status ``TIMED_OUT``).
- ``INTERNAL_ERROR``: anything unexpected.

Messages name the rule, the table, its owner and what would be allowed instead, so a collaborator can
fix the query; they never contain data values.
"""

from __future__ import annotations

MALFORMED_QUERY = "MALFORMED_QUERY"
INVALID_QUERY = "INVALID_QUERY"
RESOURCE_NOT_FOUND = "RESOURCE_NOT_FOUND"
RESOURCE_ACCESS_DENIED = "RESOURCE_ACCESS_DENIED"
INVALID_RESOURCE = "INVALID_RESOURCE"
PRIVACY_BUDGET_EXHAUSTED = "PRIVACY_BUDGET_EXHAUSTED"
TIMED_OUT = "TIMED_OUT"
INTERNAL_ERROR = "INTERNAL_ERROR"


class CollaborationConfigError(ValueError):
    """The collaboration file breaks a constraint of the Clean Rooms API shapes it mirrors."""


class CleanRoomsError(Exception):
    """A query the clean room refuses or could not run: an error code and an actionable message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def invalid(message: str) -> CleanRoomsError:
    return CleanRoomsError(INVALID_QUERY, message)


def malformed(message: str) -> CleanRoomsError:
    return CleanRoomsError(MALFORMED_QUERY, message)
