"""Consumer lag of every group on the broker, judged over a sliding window (Burrow's rules).

- ``evaluator``: the statuses (OK, WARN, ERR, STOP, STALL, REWIND), pure functions.
- ``broker``: one admin client reading groups, commits, members and log ends.
- ``monitor``: the windows, lag in seconds, and the report every interface shows.
- ``metrics``: the report as Prometheus metrics (``ghlake_consumergroup_*``).
"""
