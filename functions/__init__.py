"""Lambda function code. Imports nothing from `ops/` or `templates/`: the zips carry this alone."""
