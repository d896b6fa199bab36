"""Alarm responders: an alarm fires, one bounded action runs once, and says what it did."""
