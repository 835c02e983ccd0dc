"""One module per phase: how it is measured (the command, its environment, and what is
read back afterwards). harness.registry.phases names each phase's recipe; each takes
the runner's Context and returns an Outcome."""
