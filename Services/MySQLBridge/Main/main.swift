import MySQLBridge
import Runtime

await ServiceMain.run(name: "mysql-bridge", build: MySQLBridge.buildServices)
