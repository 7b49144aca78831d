"""The staff screens behind the staff login: history, settings, diagnostics, first-run setup."""
