"""GitHub integration: the action's step logic, the sticky PR comment and the baseline download.

Only :mod:`pytest_ragops.github.env` and :mod:`~pytest_ragops.github.changes` are standard
library (plus pathspec); PyGithub is imported inside the functions that talk to the API, so
the action's change detection and ``ragops --help`` never load it.
"""
