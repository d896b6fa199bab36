"""Log processors: CloudWatch Logs subscription payloads turned into metrics and alerts."""
