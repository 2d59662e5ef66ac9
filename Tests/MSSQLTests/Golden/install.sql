IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_databases WHERE database_id = DB_ID())
    ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 3 DAYS, AUTO_CLEANUP = ON)
GO
ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON
GO
IF OBJECT_ID(N'dbo.fraiseql_bridge_checkpoints', N'U') IS NULL
    CREATE TABLE dbo.fraiseql_bridge_checkpoints (
        transport NVARCHAR(255) NOT NULL,
        table_name NVARCHAR(300) NOT NULL,
        version BIGINT NOT NULL,
        updated_at DATETIME2 NOT NULL DEFAULT SYSUTCDATETIME(),
        CONSTRAINT fraiseql_bridge_checkpoints_pk PRIMARY KEY (transport, table_name))
GO
IF OBJECT_ID(N'dbo.fraiseql_bridge_dead_letters', N'U') IS NULL
    CREATE TABLE dbo.fraiseql_bridge_dead_letters (
        transport NVARCHAR(255) NOT NULL,
        change_id NVARCHAR(800) NOT NULL,
        event_id CHAR(36) NOT NULL,
        entity_type NVARCHAR(128) NOT NULL,
        reason NVARCHAR(MAX) NOT NULL,
        event NVARCHAR(MAX) NOT NULL,
        created_at DATETIME2 NOT NULL DEFAULT SYSUTCDATETIME(),
        CONSTRAINT fraiseql_bridge_dead_letters_pk PRIMARY KEY (transport, change_id))
GO
IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(N'[dbo].[orders]'))
    ALTER TABLE [dbo].[orders] ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = OFF)
GO
IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(N'[sales].[line items]'))
    ALTER TABLE [sales].[line items] ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = OFF)
GO
INSERT INTO dbo.fraiseql_bridge_checkpoints (transport, table_name, version)
SELECT N'mssql-main', N'orders', CHANGE_TRACKING_CURRENT_VERSION()
 WHERE NOT EXISTS (SELECT 1 FROM dbo.fraiseql_bridge_checkpoints WHERE transport = N'mssql-main' AND table_name = N'orders')
GO
INSERT INTO dbo.fraiseql_bridge_checkpoints (transport, table_name, version)
SELECT N'mssql-main', N'sales.line items', CHANGE_TRACKING_CURRENT_VERSION()
 WHERE NOT EXISTS (SELECT 1 FROM dbo.fraiseql_bridge_checkpoints WHERE transport = N'mssql-main' AND table_name = N'sales.line items')
