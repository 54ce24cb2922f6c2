"""Metabase as code: ghlake's cards and dashboards (``metabase/``), provisioned by its API."""
