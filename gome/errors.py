"""User-facing errors.

Every error a user can cause (a wrong id, a malformed file, missing data) is a `GomeError`:
the CLI prints its message on one line and exits with code 2, never with a traceback.
"""


class GomeError(Exception):
    """An error whose message tells the user what to do; the CLI exits with `exit_code`."""

    exit_code = 2


class UnknownCompetitionError(GomeError):
    """No competition folder has this id."""


class CompetitionConfigError(GomeError):
    """A `competition.yaml` is malformed (unknown metric, missing field, ...)."""


class DataNotPreparedError(GomeError):
    """The prepared public/private data of a competition is missing."""


class PreparationError(GomeError):
    """Raw data could not be obtained or split."""


class InvalidSubmissionError(GomeError):
    """A submission does not match the answers' ids, columns or value ranges."""
