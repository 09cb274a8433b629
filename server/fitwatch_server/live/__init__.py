"""Live updates: publish what was committed, fan it out to websocket subscribers."""
