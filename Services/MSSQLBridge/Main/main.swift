import FleetCore
import Foundation
import MSSQLBridge
import Runtime

// Before any other thread starts: a `tls_ca` in the URL needs a freetds.conf and FREETDSCONF.
MSSQLBridge.prepareFreeTDS()
if CommandLine.arguments.dropFirst().first == "install" {
    exit(await MSSQLBridge.install(arguments: Array(CommandLine.arguments.dropFirst(2))))
}
exit(await ServiceMain.run(name: "mssql-bridge", build: MSSQLBridge.buildServices))
