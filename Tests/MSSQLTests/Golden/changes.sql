SET TRANSACTION ISOLATION LEVEL SNAPSHOT;
BEGIN TRANSACTION;
SELECT CHANGE_TRACKING_CURRENT_VERSION() AS current_version,
       CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(N'[dbo].[orders]')) AS [orders],
       CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(N'[sales].[line items]')) AS [sales.line items];
SELECT TOP (500) WITH TIES N'orders' AS fraiseql_table,
       ct.SYS_CHANGE_VERSION AS fraiseql_version, ct.SYS_CHANGE_OPERATION AS fraiseql_operation,
       CONVERT(NVARCHAR(450), ct.[id]) AS fraiseql_key, t.*
  FROM CHANGETABLE(CHANGES [dbo].[orders], 41) AS ct
  LEFT JOIN [dbo].[orders] AS t ON t.[id] = ct.[id]
 WHERE ct.SYS_CHANGE_VERSION <= CHANGE_TRACKING_CURRENT_VERSION()
 ORDER BY ct.SYS_CHANGE_VERSION;
SELECT TOP (500) WITH TIES N'sales.line items' AS fraiseql_table,
       ct.SYS_CHANGE_VERSION AS fraiseql_version, ct.SYS_CHANGE_OPERATION AS fraiseql_operation,
       CONVERT(NVARCHAR(450), ct.[line]]id]) AS fraiseql_key, t.*
  FROM CHANGETABLE(CHANGES [sales].[line items], 41) AS ct
  LEFT JOIN [sales].[line items] AS t ON t.[line]]id] = ct.[line]]id]
 WHERE ct.SYS_CHANGE_VERSION <= CHANGE_TRACKING_CURRENT_VERSION()
 ORDER BY ct.SYS_CHANGE_VERSION;
COMMIT TRANSACTION;
