"""The one error type that means "bad input": the CLI prints it as one line, exit 2."""


class UsageError(Exception):
    """Bad input from the user (flag, file, path, value). Printed as one line; exit code 2."""
