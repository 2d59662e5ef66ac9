import FleetAdmin

/// Prints retry results, one per line and their sum; the exit code (1 when a letter was not
/// found or not retried).
enum RetryPrinter {
    static func report(_ results: [RetryResult], format: OutputFormat) throws -> Int32 {
        var counts: [RetryResult.Outcome: Int] = [:]
        for result in results { counts[result.outcome, default: 0] += 1 }
        switch format {
        case .json: print(try CLIOutput.json(results))
        case .text:
            for result in results {
                let detail = result.detail.isEmpty ? "" : " (\(result.detail))"
                switch result.outcome {
                case .retried: print("\(result.id): retried\(detail)")
                case .skipped: print("\(result.id): skipped\(detail)")
                case .missing: print("\(result.id): not found\(detail)")
                case .failed: print("\(result.id): not retried\(detail)")
                }
            }
            print(
                "\(counts[.retried] ?? 0) retried, \(counts[.skipped] ?? 0) skipped, \(counts[.missing] ?? 0) not found, "
                    + "\(counts[.failed] ?? 0) failed")
        }
        return (counts[.missing] ?? 0) + (counts[.failed] ?? 0) == 0 ? CLIExit.ok : CLIExit.partial
    }
}
