"""Benchmarks run by ``make bench``; each prints a Markdown table for docs/benchmarks.md."""
