"""The small runtime every function shares: JSON logs, EMF metrics, time budget, clients, settings.

Kept light on purpose: importing it creates no client and imports no boto3, so a cold start pays
only for what the invocation uses.
"""
