"""The exceptions of the library (the lowest floor: every module may raise them).

* :class:`UserError` -- a mistake in the user's input; the message is one line naming the
  problem and the fix.  The command line prints it and exits with code 2.
* :class:`TooLargeError` -- a computation that would not fit in the memory budget (or a size
  limit); the message gives the estimate and how to lower it.
* :class:`TimeUp` -- the time limit passed (or SIGTERM / Ctrl-C arrived) in the middle of a
  computation; callers that can return the bounds proven so far catch it.
"""


class UserError(ValueError):
    """A mistake in the user's input; the message is one line naming the problem and the fix."""


class TooLargeError(UserError):
    """The requested computation would not fit: the message gives the estimate and the fix."""


class TimeUp(Exception):
    """Raised when a deadline passes in the middle of a computation.

    ``phase`` names what was running (``"laws"``, ``"lie closure"``, ...)."""

    def __init__(self, message: str = "time limit reached", phase: str | None = None) -> None:
        super().__init__(message)
        self.phase = phase


__all__ = ["TimeUp", "TooLargeError", "UserError"]
