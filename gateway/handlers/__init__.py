"""Protocol handlers, one module per sub-protocol (startup/auth, simple query, extended query, cancel)."""
