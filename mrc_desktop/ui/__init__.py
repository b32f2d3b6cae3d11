"""Everything that uses QtWidgets: screens, dialogs, widgets."""
