import PGBridge
import Runtime

await ServiceMain.run(name: "pg-bridge", build: PGBridge.buildServices)
