"""The hub server (mrc-hub) and its storage backends (Qt-free)."""
