import MSSQLBridge
import Runtime

await ServiceMain.run(name: "mssql-bridge", build: MSSQLBridge.buildServices)
