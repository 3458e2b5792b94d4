pytest_plugins = ["socketguard.testing.pytest_plugin"]
