"""MRC Desk: an offline-first desk app for Migrant Worker Resource Centres."""

__version__ = "0.1.0"
APP_NAME = "MRC Desk"
APP_ID = "mrc-desktop"
