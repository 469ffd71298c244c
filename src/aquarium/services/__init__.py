"""Use cases: what the API, the CLI and the UI ask of Aquarium, with no HTTP in sight."""
