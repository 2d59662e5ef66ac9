import FleetCore
import Foundation
import PGBridge
import Runtime

if CommandLine.arguments.dropFirst().first == "install" {
    exit(await PGBridge.install(arguments: Array(CommandLine.arguments.dropFirst(2))))
}
exit(await ServiceMain.run(name: "pg-bridge", build: PGBridge.buildServices))
