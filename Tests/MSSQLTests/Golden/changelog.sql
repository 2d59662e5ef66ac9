SET TRANSACTION ISOLATION LEVEL READ COMMITTED; SET LOCK_TIMEOUT 10000
GO
SELECT version FROM dbo.fraiseql_bridge_checkpoints
 WHERE transport = N'mssql-main' AND table_name = N'fraiseql_change_log'
GO
SELECT TOP (500) id, CONVERT(CHAR(36), event_id) AS event_id, entity_type, entity_id, operation,
       before_image, after_image, tenant_id, DATEDIFF_BIG(MICROSECOND, '19700101', captured_at) AS captured_us
  FROM dbo.fraiseql_change_log WITH (READCOMMITTEDLOCK, READPAST)
 WHERE published_at IS NULL AND id > 41
 ORDER BY id
GO
SELECT id FROM dbo.fraiseql_change_log WITH (NOLOCK)
 WHERE published_at IS NULL AND id > 41 AND id <= 90
 ORDER BY id
GO
SET XACT_ABORT ON;
BEGIN TRANSACTION;
UPDATE dbo.fraiseql_change_log SET published_at = SYSUTCDATETIME() WHERE published_at IS NULL AND (id BETWEEN 42 AND 44 OR id = 47 OR id BETWEEN 49 AND 50);
UPDATE dbo.fraiseql_bridge_checkpoints SET version = 50, updated_at = SYSUTCDATETIME() WHERE transport = N'mssql-main' AND table_name = N'fraiseql_change_log' AND version = 41;
IF @@ROWCOUNT = 1 BEGIN COMMIT TRANSACTION; SELECT 1 AS moved; END ELSE BEGIN ROLLBACK TRANSACTION; SELECT 0 AS moved; END
GO
SET XACT_ABORT ON;
BEGIN TRANSACTION;
UPDATE dbo.fraiseql_change_log SET published_at = SYSUTCDATETIME() WHERE published_at IS NULL AND (id = 42);
INSERT INTO dbo.fraiseql_bridge_checkpoints (transport, table_name, version) SELECT N'mssql-main', N'fraiseql_change_log', 42 WHERE NOT EXISTS (SELECT 1 FROM dbo.fraiseql_bridge_checkpoints WHERE transport = N'mssql-main' AND table_name = N'fraiseql_change_log');
IF @@ROWCOUNT = 1 BEGIN COMMIT TRANSACTION; SELECT 1 AS moved; END ELSE BEGIN ROLLBACK TRANSACTION; SELECT 0 AS moved; END
GO
SET XACT_ABORT ON;
BEGIN TRANSACTION;
UPDATE dbo.fraiseql_change_log SET published_at = SYSUTCDATETIME() WHERE published_at IS NULL AND (id = 42);
COMMIT TRANSACTION;
SELECT 1 AS moved
GO
IF NOT EXISTS (SELECT 1 FROM dbo.fraiseql_bridge_dead_letters WHERE transport = N'mssql-main' AND change_id = N'42')
    INSERT INTO dbo.fraiseql_bridge_dead_letters (transport, change_id, event_id, entity_type, reason, event)
    VALUES (N'mssql-main', N'42', N'x', N'order', N'event_id ''x'' is not a UUID', N'id=42');
UPDATE dbo.fraiseql_change_log SET published_at = SYSUTCDATETIME() WHERE id = 42
GO
DELETE TOP (1000) FROM dbo.fraiseql_change_log
 WHERE published_at IS NOT NULL AND captured_at < DATEADD(SECOND, -259200, SYSUTCDATETIME());
SELECT @@ROWCOUNT AS purged
GO
SELECT COUNT_BIG(*) AS pending, COALESCE(DATEDIFF_BIG(MICROSECOND, MIN(captured_at), SYSUTCDATETIME()), 0) AS oldest_us
  FROM dbo.fraiseql_change_log WITH (READCOMMITTEDLOCK, READPAST)
 WHERE published_at IS NULL
