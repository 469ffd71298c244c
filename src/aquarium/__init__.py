"""Aquarium: a self-hosted, wire-compatible implementation of Zuora's AQuA and Reporting APIs."""

__version__ = "0.1.0"
