IF OBJECT_ID(N'dbo.fraiseql_change_log', N'U') IS NULL
BEGIN
    CREATE TABLE dbo.fraiseql_change_log (
        id BIGINT IDENTITY(1, 1) NOT NULL,
        event_id UNIQUEIDENTIFIER NOT NULL DEFAULT NEWID(),
        entity_type NVARCHAR(128) NOT NULL,
        entity_id NVARCHAR(450) NOT NULL,
        operation VARCHAR(6) NOT NULL,
        before_image NVARCHAR(MAX) NULL,
        after_image NVARCHAR(MAX) NULL,
        tenant_id NVARCHAR(255) NULL,
        captured_at DATETIME2(6) NOT NULL DEFAULT SYSUTCDATETIME(),
        published_at DATETIME2(6) NULL,
        CONSTRAINT fraiseql_change_log_pk PRIMARY KEY (id));
    CREATE INDEX fraiseql_change_log_pending ON dbo.fraiseql_change_log (published_at, id);
    -- Row locks only: the bridge's reads skip rows of open transactions (READPAST),
    -- which a lock escalated to the whole table would not let them do.
    ALTER TABLE dbo.fraiseql_change_log SET (LOCK_ESCALATION = DISABLE);
END
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
CREATE OR ALTER TRIGGER [dbo].[fraiseql_capture_orders] ON [dbo].[orders]
AFTER INSERT, UPDATE, DELETE AS
BEGIN
    SET NOCOUNT ON;
    IF NOT EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM deleted) RETURN;
    DECLARE @new NVARCHAR(MAX) = (SELECT * FROM inserted FOR JSON AUTO, INCLUDE_NULL_VALUES);
    DECLARE @old NVARCHAR(MAX) = (SELECT * FROM deleted FOR JSON AUTO, INCLUDE_NULL_VALUES);
    INSERT INTO dbo.fraiseql_change_log (entity_type, entity_id, operation, before_image, after_image, tenant_id)
    SELECT N'order', COALESCE(n.entity_id, o.entity_id),
           CASE WHEN o.entity_id IS NULL THEN 'insert' WHEN n.entity_id IS NULL THEN 'delete' ELSE 'update' END,
           o.image, n.image, COALESCE(n.tenant_id, o.tenant_id)
      FROM (SELECT CAST([key] AS INT) AS position, JSON_VALUE([value], N'$."id"') AS entity_id,
            CAST(NULL AS NVARCHAR(255)) AS tenant_id, [value] AS image
           FROM OPENJSON(@new)) AS n
      FULL OUTER JOIN (SELECT CAST([key] AS INT) AS position, JSON_VALUE([value], N'$."id"') AS entity_id,
            CAST(NULL AS NVARCHAR(255)) AS tenant_id, [value] AS image
           FROM OPENJSON(@old)) AS o ON o.entity_id = n.entity_id
     ORDER BY COALESCE(n.position, o.position);
END
GO
CREATE OR ALTER TRIGGER [sales].[fraiseql_capture_line items] ON [sales].[line items]
AFTER INSERT, UPDATE, DELETE AS
BEGIN
    SET NOCOUNT ON;
    IF NOT EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM deleted) RETURN;
    DECLARE @new NVARCHAR(MAX) = (SELECT * FROM inserted FOR JSON AUTO, INCLUDE_NULL_VALUES);
    DECLARE @old NVARCHAR(MAX) = (SELECT * FROM deleted FOR JSON AUTO, INCLUDE_NULL_VALUES);
    INSERT INTO dbo.fraiseql_change_log (entity_type, entity_id, operation, before_image, after_image, tenant_id)
    SELECT N'line-item', COALESCE(n.entity_id, o.entity_id),
           CASE WHEN o.entity_id IS NULL THEN 'insert' WHEN n.entity_id IS NULL THEN 'delete' ELSE 'update' END,
           o.image, n.image, COALESCE(n.tenant_id, o.tenant_id)
      FROM (SELECT CAST([key] AS INT) AS position, JSON_VALUE([value], N'$."line]id"') AS entity_id,
            CAST(NULL AS NVARCHAR(255)) AS tenant_id, [value] AS image
           FROM OPENJSON(@new)) AS n
      FULL OUTER JOIN (SELECT CAST([key] AS INT) AS position, JSON_VALUE([value], N'$."line]id"') AS entity_id,
            CAST(NULL AS NVARCHAR(255)) AS tenant_id, [value] AS image
           FROM OPENJSON(@old)) AS o ON o.entity_id = n.entity_id
     ORDER BY COALESCE(n.position, o.position);
END
GO
CREATE OR ALTER TRIGGER [dbo].[fraiseql_capture_customers] ON [dbo].[customers]
AFTER INSERT, UPDATE, DELETE AS
BEGIN
    SET NOCOUNT ON;
    IF NOT EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM deleted) RETURN;
    DECLARE @new NVARCHAR(MAX) = (SELECT [name], [email], [id], [tenant] FROM inserted FOR JSON AUTO, INCLUDE_NULL_VALUES);
    DECLARE @old NVARCHAR(MAX) = (SELECT [name], [email], [id], [tenant] FROM deleted FOR JSON AUTO, INCLUDE_NULL_VALUES);
    INSERT INTO dbo.fraiseql_change_log (entity_type, entity_id, operation, before_image, after_image, tenant_id)
    SELECT N'customer', COALESCE(n.entity_id, o.entity_id),
           CASE WHEN o.entity_id IS NULL THEN 'insert' WHEN n.entity_id IS NULL THEN 'delete' ELSE 'update' END,
           o.image, n.image, COALESCE(n.tenant_id, o.tenant_id)
      FROM (SELECT CAST([key] AS INT) AS position, JSON_VALUE([value], N'$."id"') AS entity_id,
            JSON_VALUE([value], N'$."tenant"') AS tenant_id, JSON_MODIFY(JSON_MODIFY(JSON_MODIFY([value], N'$."email"', NULL), N'$."id"', NULL), N'$."tenant"', NULL) AS image
           FROM OPENJSON(@new)) AS n
      FULL OUTER JOIN (SELECT CAST([key] AS INT) AS position, JSON_VALUE([value], N'$."id"') AS entity_id,
            JSON_VALUE([value], N'$."tenant"') AS tenant_id, JSON_MODIFY(JSON_MODIFY(JSON_MODIFY([value], N'$."email"', NULL), N'$."id"', NULL), N'$."tenant"', NULL) AS image
           FROM OPENJSON(@old)) AS o ON o.entity_id = n.entity_id
     ORDER BY COALESCE(n.position, o.position);
END
GO
CREATE OR ALTER TRIGGER [dbo].[fraiseql_capture_accounts] ON [dbo].[accounts]
AFTER INSERT, UPDATE, DELETE AS
BEGIN
    SET NOCOUNT ON;
    IF NOT EXISTS (SELECT 1 FROM inserted) AND NOT EXISTS (SELECT 1 FROM deleted) RETURN;
    DECLARE @new NVARCHAR(MAX) = (SELECT * FROM inserted FOR JSON AUTO, INCLUDE_NULL_VALUES);
    DECLARE @old NVARCHAR(MAX) = (SELECT * FROM deleted FOR JSON AUTO, INCLUDE_NULL_VALUES);
    INSERT INTO dbo.fraiseql_change_log (entity_type, entity_id, operation, before_image, after_image, tenant_id)
    SELECT N'account', COALESCE(n.entity_id, o.entity_id),
           CASE WHEN o.entity_id IS NULL THEN 'insert' WHEN n.entity_id IS NULL THEN 'delete' ELSE 'update' END,
           o.image, n.image, COALESCE(n.tenant_id, o.tenant_id)
      FROM (SELECT CAST([key] AS INT) AS position, JSON_VALUE([value], N'$."id"') AS entity_id,
            CAST(NULL AS NVARCHAR(255)) AS tenant_id, JSON_MODIFY([value], N'$."secret \"hash\""', NULL) AS image
           FROM OPENJSON(@new)) AS n
      FULL OUTER JOIN (SELECT CAST([key] AS INT) AS position, JSON_VALUE([value], N'$."id"') AS entity_id,
            CAST(NULL AS NVARCHAR(255)) AS tenant_id, JSON_MODIFY([value], N'$."secret \"hash\""', NULL) AS image
           FROM OPENJSON(@old)) AS o ON o.entity_id = n.entity_id
     ORDER BY COALESCE(n.position, o.position);
END
