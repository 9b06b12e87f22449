"""Support for the test suite: a real PostgreSQL and the real engine, started by the suite
itself (nothing is pre-installed), on free ports and in temporary directories."""
