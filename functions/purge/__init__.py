"""Scheduled purge jobs: delete what is old, safely, within the invocation's time budget."""
