import PostgresChangeLog

extension FleetAdmin {
    /// The bridge's checkpoint (`[bridge] transport_name`), the newest change and the leader.
    public func checkpoint() async throws -> CheckpointView {
        let transport = configuration.bridge.transportName
        return try await withChangeLog { store in
            guard try await !store.missing(["change_log", "change_log_pending"]) else {
                throw AdminError(.notFound, "the change log is not installed (run `fraiseql-observer install`)")
            }
            let checkpoint = try await store.checkpoint(transport: transport)
            return CheckpointView(
                transport: transport, cursor: checkpoint?.cursor, updatedAt: checkpoint?.updatedAt,
                newestChange: try await store.newestChange(), unpublishedRows: try await store.backlog().rows,
                leader: try await store.bridgeLeader(transport: transport))
        }
    }

    /// Moves the checkpoint back to `cursor` so that every later change still in the change log is
    /// published again (under its stable event id: the stream's duplicate window and the workers'
    /// marks absorb what they still remember). Guarded: only backwards (forwards would skip
    /// changes), and refused while a bridge leads (it reads only rows after its own cursor: stop
    /// the bridges, reset, start them). `dryRun` counts the rows and changes nothing.
    public func resetCheckpoint(to cursor: Int64, dryRun: Bool) async throws -> CheckpointReset {
        guard cursor >= 0 else { throw AdminError(.invalidArgument, "the cursor must be 0 or more") }
        let transport = configuration.bridge.transportName
        return try await withChangeLog { store in
            guard try await !store.missing(["change_log", "change_log_pending", "checkpoints"]) else {
                throw AdminError(.notFound, "the change log is not installed (run `fraiseql-observer install`)")
            }
            if let current = try await store.checkpoint(transport: transport)?.cursor, cursor > current {
                throw AdminError(
                    .invalidArgument,
                    "the checkpoint of \(transport) is \(current): a reset only moves it back (forward would skip changes)"
                )
            }
            if dryRun {
                if let leader = try await store.bridgeLeader(transport: transport) {
                    throw AdminError(
                        .invalidArgument,
                        "a bridge leads \(transport) (pid \(leader.pid)): stop the bridges before a reset")
                }
                return CheckpointReset(
                    transport: transport, toCursor: cursor, dryRun: true,
                    rows: try await store.resettableRows(after: cursor))
            }
            guard let rows = try await store.resetCheckpoint(transport: transport, to: cursor) else {
                throw AdminError(.invalidArgument, "a bridge leads \(transport): stop the bridges before a reset")
            }
            return CheckpointReset(transport: transport, toCursor: cursor, dryRun: false, rows: rows)
        }
    }
}
