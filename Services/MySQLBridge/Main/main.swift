import FleetCore
import Foundation
import MySQLBridge
import Runtime

exit(await ServiceMain.run(name: "mysql-bridge", build: MySQLBridge.buildServices))
