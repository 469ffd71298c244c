"""Ids, status enums, the job state machine, the error tree, the clock. Imports nothing above."""
