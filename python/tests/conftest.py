"""Test settings: pytester for the plugin's own tests; the fixtures come from the wheel."""

pytest_plugins = ["pytester"]
