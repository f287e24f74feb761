-- One database per service (each service owns its data; none reads another's tables).
-- Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d).
CREATE DATABASE shian_registry;
CREATE DATABASE shian_inspection;
CREATE DATABASE shian_alerts;
CREATE DATABASE shian_reporting;
CREATE DATABASE shian_identity;
