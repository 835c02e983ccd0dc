"""Small programs the runner measures in fresh processes. They import nothing of
the harness beyond this package, so their figures are the stack's alone."""
