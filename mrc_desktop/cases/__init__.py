"""Case model, validation, repository, audit log and agency register (Qt-free)."""
