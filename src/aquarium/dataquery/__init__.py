"""Zuora's Data Query API: SQL jobs over a tenant's billing tables (issue 13)."""
