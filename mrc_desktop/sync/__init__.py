"""Change capture, clocks, batches, bundles and the sync client (Qt-free)."""
