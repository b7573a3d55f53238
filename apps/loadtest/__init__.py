"""The multitier load harness (SPEC §4.10): weighted coordinator workflows driven over real HTTP,
their checks, a latency/failure report and the serving stack's resource footprint."""
