import FleetCore
import Foundation
import MSSQLBridge
import Runtime

if CommandLine.arguments.dropFirst().first == "install" {
    exit(await MSSQLBridge.install(arguments: Array(CommandLine.arguments.dropFirst(2))))
}
exit(await ServiceMain.run(name: "mssql-bridge", build: MSSQLBridge.buildServices))
