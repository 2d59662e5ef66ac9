import FlightServer
import Runtime

await ServiceMain.run(name: "flight-server", build: FlightServer.buildServices)
