"""Use cases: what the API, the CLI and the UI ask of Aquarium, with no HTTP or terminal in sight."""
