"""The one error type that means "bad input": the CLI prints it as one line, exit 2;
and the one warning of bad input the harness goes on past (printed as one line too)."""


class UsageError(Exception):
    """Bad input from the user (flag, file, path, value). Printed as one line; exit code 2."""


class InputWarning(UserWarning):
    """Bad input the harness skips and goes on (the bad lines of a stored run's records):
    printed by the CLI as one line on stderr, ``harness CMD: warning: ...``; the exit code
    is the command's own."""
