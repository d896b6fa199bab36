"""troposphere builders, one module per function family, plus the shared pieces in `common`.

Nothing here imports boto3: rendering needs no AWS and stays fast.
"""
