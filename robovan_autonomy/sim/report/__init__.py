"""The run report of a closed-loop simulation: what happened, judged against the scenario.

`inputs` holds what the report is built from (the van's true state, the map's features),
`recorder` the `RunRecorder` that stores a run step by step and finalizes it into the report
dict (report.json), `metrics` the pure functions of the recorded log, `judge` the driving score
and the verdict against the scenario's success criteria, and `plot` report.png (the geometry
they share is the package's, `robovan_autonomy.geometry`). Import each name from its module.
"""
