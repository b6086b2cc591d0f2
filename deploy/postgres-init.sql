-- Temporal's own databases, beside Ops Desk's, on the compose file's PostgreSQL.
CREATE DATABASE temporal;
CREATE DATABASE temporal_visibility;
