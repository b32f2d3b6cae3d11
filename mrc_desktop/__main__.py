"""`python -m mrc_desktop` opens the desktop app."""

from mrc_desktop.app import main

raise SystemExit(main())
