"""`harness advise PATH`: one command that measures a user's dbt project within a time
budget and answers which Cosmos settings to use.

It sits on top of the flow: it plans measurements (plan.py) as an ordinary scenario
file, runs them with harness.run, and reads the stored records back into a short
answer (answer.py) beside the run's full report.
"""
