"""Deploying the rendered stack with CloudFormation change sets (`ops apply/plan/status/destroy`).

The split follows chalice's deployer and Sceptre's plan: `plan` reads remote state and decides
(no writes), `steps` turns that into the list of steps apply or destroy take, `execute` performs
them (every call that changes something in AWS) and `display` shows the very same list for
`ops plan`; `run` is what both executors share, `recovery` gets a stack out of the way and says
how an operation ended, `bootstrap` owns the artifact bucket and uploads, `events` watches one
operation's stack events, and `summary` formats what the user sees. The CLI builds the clients
and prints; nothing here imports click.
"""
