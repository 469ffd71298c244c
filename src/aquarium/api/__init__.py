"""HTTP edge (FastAPI): routers translate requests into one service call and back."""
