"""Getting events in: replaying GH Archive hours, replay jobs, reconciliation, the demo plan."""
