import FleetCore
import FlightServer
import Foundation
import Runtime

exit(await ServiceMain.run(name: "flight-server", build: FlightServer.buildServices))
