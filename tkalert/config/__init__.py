"""Configuration: `settings` reads the INI file of either side; `fields` is the one strict reader of its values."""
