import ObserverWorker
import Runtime

await ServiceMain.run(name: "observer-worker", build: ObserverWorker.buildServices)
