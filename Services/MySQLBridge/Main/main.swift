import FleetCore
import Foundation
import MySQLBridge
import Runtime

if CommandLine.arguments.dropFirst().first == "install" {
    exit(await MySQLBridge.install(arguments: Array(CommandLine.arguments.dropFirst(2))))
}
exit(await ServiceMain.run(name: "mysql-bridge", build: MySQLBridge.buildServices))
