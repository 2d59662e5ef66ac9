import MetricsGateway
import Runtime

await ServiceMain.run(name: "metrics-gateway", build: MetricsGateway.buildServices)
