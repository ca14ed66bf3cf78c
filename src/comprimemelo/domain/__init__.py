"""What the service is about, whatever stores or serves it: the data model,
task statuses, the errors a client is told about, and how times are written."""
