"""Deploying the rendered stack with CloudFormation change sets (`ops apply/plan/status/destroy`).

The split follows chalice's deployer and Sceptre's plan: `plan` reads remote state and decides
(no writes), `execute` holds every call that changes something in AWS, `bootstrap` owns the
artifact bucket and uploads, `events` watches one operation's stack events, and `summary`
formats what the user sees. The CLI builds the clients and prints; nothing here imports click.
"""
