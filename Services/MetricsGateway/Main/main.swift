import FleetCore
import Foundation
import MetricsGateway
import Runtime

exit(await ServiceMain.run(name: "metrics-gateway", build: MetricsGateway.buildServices))
