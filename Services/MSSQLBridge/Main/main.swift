import FleetCore
import Foundation
import MSSQLBridge
import Runtime

exit(await ServiceMain.run(name: "mssql-bridge", build: MSSQLBridge.buildServices))
