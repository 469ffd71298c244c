"""Ids, status enums, the job state machine, the error tree and the clock. Imports nothing above it."""
