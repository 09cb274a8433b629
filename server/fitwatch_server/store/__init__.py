"""The store: every query and write; routes call it, it raises `fitwatch_server.errors`."""
