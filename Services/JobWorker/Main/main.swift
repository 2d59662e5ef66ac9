import JobWorker
import Runtime

await ServiceMain.run(name: "job-worker", build: JobWorker.buildServices)
