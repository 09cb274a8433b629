"""One router per resource; routes call the store and never hold SQL."""
