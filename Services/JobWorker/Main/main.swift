import FleetCore
import Foundation
import JobWorker
import Runtime

exit(await ServiceMain.run(name: "job-worker", build: JobWorker.buildServices))
