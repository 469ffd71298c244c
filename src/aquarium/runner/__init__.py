"""Job runners: claim submitted jobs, run them, react to cancels within milliseconds."""
