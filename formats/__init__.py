"""Record formats (json, raw, avro, protobuf) and the Schema Registry client (issues #4, #6)."""
