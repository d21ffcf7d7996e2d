"""The functional core: plain data in, plain data out. No network, database, clock or environment."""
