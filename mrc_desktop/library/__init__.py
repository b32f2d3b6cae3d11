"""Articles: loading, validation, safe HTML and the full-text index (Qt-free)."""
