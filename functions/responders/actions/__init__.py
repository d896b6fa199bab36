"""One module per action, each with `plan(job, alarm, clients, now, current_state) -> Step | Skip`.

A planner reads; the mutating call waits in the returned `Step.apply`.
"""
