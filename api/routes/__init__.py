"""HTTP routes under ``/v1``: parse, call one service function, return a schema."""
