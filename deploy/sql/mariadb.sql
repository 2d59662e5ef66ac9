-- The demo application's schema for compose.yaml's MariaDB (mariadb:11 runs it once, from
-- /docker-entrypoint-initdb.d/, as root).
CREATE DATABASE IF NOT EXISTS app;

CREATE TABLE IF NOT EXISTS app.orders (
    id INT AUTO_INCREMENT PRIMARY KEY,
    customer VARCHAR(200),
    status VARCHAR(50),
    total DECIMAL(12, 2)
);

-- mysql-bridge's account (docs/operations.md, "mysql-bridge"). Trigger mode: TRIGGER and CREATE
-- on the application's database for `install`, SELECT, INSERT, UPDATE, DELETE on its fraiseql_*
-- tables for the bridge (and for the triggers, which run with their definer's rights).
CREATE USER IF NOT EXISTS 'fraiseql'@'%' IDENTIFIED BY 'fleet';
GRANT TRIGGER, CREATE, SELECT, INSERT, UPDATE, DELETE ON app.* TO 'fraiseql'@'%';
-- Binlog mode (bridge.capture = "binlog"): reading the row-based binlog as a replica and
-- SHOW MASTER STATUS (MariaDB 10.5+: BINLOG MONITOR). compose.yaml starts MariaDB with the binlog
-- settings that mode needs, so switching a config to it needs no server change.
GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'fraiseql'@'%';
