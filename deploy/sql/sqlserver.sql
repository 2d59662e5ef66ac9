-- The demo application's schema for compose.yaml's SQL Server (profiles mssql and multi-database):
-- run by the one-shot service sqlserver-init with sqlcmd, as sa; safe to run again.
-- `mssql-bridge install` then turns Change Tracking on for the database and dbo.orders.
IF DB_ID(N'app') IS NULL
    CREATE DATABASE app;
GO
USE app;
GO
IF OBJECT_ID(N'dbo.orders', N'U') IS NULL
    CREATE TABLE dbo.orders (
        id INT IDENTITY(1, 1) PRIMARY KEY,
        customer NVARCHAR(200),
        status NVARCHAR(50),
        total DECIMAL(12, 2)
    );
GO
