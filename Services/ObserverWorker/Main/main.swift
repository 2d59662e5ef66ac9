import FleetCore
import Foundation
import ObserverWorker
import Runtime

exit(await ServiceMain.run(name: "observer-worker", build: ObserverWorker.buildServices))
