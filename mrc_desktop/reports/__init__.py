"""Print and PDF rendering (QtGui allowed, QtWidgets not)."""
