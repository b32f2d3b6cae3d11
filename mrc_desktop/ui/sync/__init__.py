"""The Sync screen and the app's sync with its hub: Sync now, background sync, enrolment, USB."""
