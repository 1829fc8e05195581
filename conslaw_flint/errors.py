"""The one exception type for mistakes in user input.

Every error a user can cause (a bad model string, a malformed file, an absurd degree) derives
from :class:`UserError`; the command line prints its one-line message and exits with code 2.
"""


class UserError(ValueError):
    """A mistake in the user's input; the message is one line naming the problem and the fix."""
