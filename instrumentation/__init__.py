"""annotrace SDK placeholder."""
