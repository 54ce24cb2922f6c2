"""Local stand-ins for external systems that cannot run here (GitHub's API), for tests."""
