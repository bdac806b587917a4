"""The PostgreSQL wire-protocol gateway: server, sessions, SQL front end and ad-hoc queries."""
