"""Sans-IO PostgreSQL protocol: messages, connection state machine and value codecs."""
