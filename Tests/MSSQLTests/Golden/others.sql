DECLARE @granted INT;
EXEC @granted = sp_getapplock @Resource = N'fraiseql_bridge:mssql-main', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
SELECT @granted AS granted
GO
SELECT table_name, version FROM dbo.fraiseql_bridge_checkpoints WHERE transport = N'mssql-main'
GO
UPDATE dbo.fraiseql_bridge_checkpoints SET version = 42, updated_at = SYSUTCDATETIME()
 WHERE transport = N'mssql-main' AND version = 41;
SELECT @@ROWCOUNT AS moved
GO
BEGIN TRANSACTION;
INSERT INTO dbo.fraiseql_bridge_checkpoints (transport, table_name, version) SELECT N'mssql-main', N'orders', 7 WHERE NOT EXISTS (SELECT 1 FROM dbo.fraiseql_bridge_checkpoints WHERE transport = N'mssql-main' AND table_name = N'orders');
COMMIT TRANSACTION;
SELECT COUNT(*) AS moved FROM dbo.fraiseql_bridge_checkpoints WHERE transport = N'mssql-main' AND version = 7
GO
IF NOT EXISTS (SELECT 1 FROM dbo.fraiseql_bridge_dead_letters WHERE transport = N'mssql-main' AND change_id = N'42:orders:7')
    INSERT INTO dbo.fraiseql_bridge_dead_letters (transport, change_id, event_id, entity_type, reason, event)
    VALUES (N'mssql-main', N'42:orders:7', N'e', N'order', N'it''s too large', N'{}')
GO
SELECT N'orders' AS table_name WHERE NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(N'[dbo].[orders]'))
UNION ALL
SELECT N'sales.line items' AS table_name WHERE NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(N'[sales].[line items]'))
