"""Process hygiene: services measured each in its own cgroup, and nothing a run starts
outliving it (supervision while it runs, clean-up of what a dead run left)."""
