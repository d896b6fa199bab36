"""One module per action, each with `plan(job, alarm, clients, now, current_state, markers=...)
-> Step | Skip` (`markers`: the marker store, for actions that must remember something).

A planner reads; the mutating call waits in the returned `Step.apply`.
"""
