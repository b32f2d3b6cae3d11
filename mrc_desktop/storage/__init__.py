"""Opening databases, migrations, paths (Qt-free)."""
