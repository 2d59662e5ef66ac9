import Contracts
import Foundation

/// The whole `fraiseql.toml`: every service reads the full file, so an unknown key is an error
/// wherever it is, and `fraiseql-observer validate` checks exactly what the services will load.
/// Each key is documented where it is read; `docs/configuration.md` is the reference.
public struct FleetConfiguration: Sendable {
    public var log: LogConfiguration
    public var nats: NATSConfiguration
    public var redis: RedisConfiguration
    public var postgres: DatabaseConfiguration
    public var mysql: DatabaseConfiguration
    public var mssql: DatabaseConfiguration
    public var bridge: BridgeConfiguration
    public var observer: ObserverConfiguration
    public var observers: [ObserverDefinition]
    public var jobs: JobsConfiguration
    public var smtp: SMTPConfiguration
    public var search: SearchConfiguration
    public var flight: FlightConfiguration
    public var metrics: MetricsConfiguration

    /// Defaults everywhere.
    public init() {
        // An empty reader cannot fail.
        self = try! FleetConfiguration(reader: ConfigFile(root: [:], environment: [:]))
    }

    public init(reader: ConfigFile) throws(ConfigError) {
        let root = reader.scope
        log = try LogConfiguration(root.section("log"))
        nats = try NATSConfiguration(root.section("nats"))
        redis = try RedisConfiguration(root.section("redis"))
        postgres = try DatabaseConfiguration(root.section("postgres"))
        mysql = try DatabaseConfiguration(root.section("mysql"))
        mssql = try DatabaseConfiguration(root.section("mssql"))
        bridge = try BridgeConfiguration(root.section("bridge"))
        observer = try ObserverConfiguration(root.section("observer"))
        let observerDefaults = observer
        observers = try root.tables("observers").map { scope throws(ConfigError) in
            try ObserverDefinition(scope, defaults: observerDefaults)
        }
        jobs = try JobsConfiguration(root.section("jobs"))
        smtp = try SMTPConfiguration(root.section("smtp"))
        search = try SearchConfiguration(root.section("search"))
        flight = try FlightConfiguration(root.section("flight"))
        metrics = try MetricsConfiguration(root.section("metrics"))
        try reader.checkUnknownKeys()
    }

    /// Loads `path` with environment overrides.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(ConfigError) -> FleetConfiguration
    {
        try FleetConfiguration(reader: ConfigFile(path: path, environment: environment))
    }
}

/// `[log]`
public struct LogConfiguration: Sendable {
    /// `level`: trace, debug, info, notice, warning, error, critical. Default `info`.
    public var level: String = "info"
    /// `format`: `text` or `json` (one JSON object per line). Default `text`.
    public var format: String = "text"

    init(_ scope: ConfigScope) throws(ConfigError) {
        level = try scope.choice(
            "level", ["trace", "debug", "info", "notice", "warning", "error", "critical"], default: level)
        format = try scope.choice("format", ["text", "json"], default: format)
    }
}

/// `[nats]` and `[nats.stream]`
public struct NATSConfiguration: Sendable {
    /// `url` (or `url_env` / `url_file`): one URL or a comma-separated list. Default `nats://127.0.0.1:4222`.
    public var url = "nats://127.0.0.1:4222"
    /// `subject_prefix`: default `entity.change`.
    public var subjectPrefix = SubjectNamer.defaultPrefix
    /// `connect_timeout`: default `2s`.
    public var connectTimeout: Duration = .seconds(2)
    /// `reconnect_wait`: default `250ms`.
    public var reconnectWait: Duration = .milliseconds(250)
    /// `request_timeout`: JetStream API requests and publishes. Default `5s`.
    public var requestTimeout: Duration = .seconds(5)
    /// `tls_ca_file`, `tls_cert_file`, `tls_key_file`: TLS to the servers (also on with `tls://`
    /// URLs). The server certificate is always verified, against `tls_ca_file` when given.
    public var tls: TLSFiles?
    public var stream = StreamSettings()

    public struct StreamSettings: Sendable {
        /// `name`: default `ENTITY_CHANGES`.
        public var name = "ENTITY_CHANGES"
        /// `storage`: `file` or `memory`. Default `file`.
        public var storage = "file"
        /// `max_age`: default `7d`.
        public var maxAge: Duration = .seconds(7 * 86_400)
        /// `duplicate_window`: default `5m`.
        public var duplicateWindow: Duration = .seconds(300)
        /// `replicas`: 1 (dev) or 3 (prod). Default 1.
        public var replicas = 1
        /// `max_bytes`: -1 for unlimited. Default -1. With a limit the stream refuses new events
        /// when full (discard-new: the bridge retries and its lag grows) rather than dropping
        /// unprocessed ones.
        public var maxBytes = -1
        /// `max_msgs`: -1 for unlimited. Default -1. Discard-new, as `max_bytes`.
        public var maxMessages = -1
    }

    init(_ scope: ConfigScope) throws(ConfigError) {
        // It may carry credentials (`nats://user:password@host`): `url_env` and `url_file` too.
        url = try scope.secret("url")?.value ?? url
        subjectPrefix = try scope.string("subject_prefix", default: subjectPrefix)
        do throws(SubjectError) {
            _ = try SubjectNamer(prefix: subjectPrefix)
        } catch {
            throw scope.error("subject_prefix", error.description)
        }
        connectTimeout = try scope.duration("connect_timeout", default: connectTimeout)
        reconnectWait = try scope.duration("reconnect_wait", default: reconnectWait)
        requestTimeout = try scope.duration("request_timeout", default: requestTimeout)
        tls = try TLSFiles(scope, enabled: url.split(separator: ",").contains { $0.hasPrefix("tls://") })
        let streamScope = try scope.section("stream")
        stream.name = try streamScope.string("name", default: stream.name)
        stream.storage = try streamScope.choice("storage", ["file", "memory"], default: stream.storage)
        stream.maxAge = try streamScope.duration("max_age", default: stream.maxAge)
        stream.duplicateWindow = try streamScope.duration("duplicate_window", default: stream.duplicateWindow)
        stream.replicas = try streamScope.int("replicas", default: stream.replicas, range: 1...5)
        stream.maxBytes = try streamScope.int("max_bytes", default: stream.maxBytes)
        stream.maxMessages = try streamScope.int("max_msgs", default: stream.maxMessages)
        for (key, value) in [("max_bytes", stream.maxBytes), ("max_msgs", stream.maxMessages)]
        where value == 0 || value < -1 {
            throw streamScope.error(key, "must be -1 (unlimited) or a positive limit")
        }
    }
}

/// `[redis]`
public struct RedisConfiguration: Sendable {
    /// `url`: `redis://[user:password@]host:port[/db]`; a secret (`url_env`, `url_file` work too).
    public var url = Secret("redis://127.0.0.1:6379")
    /// `key_prefix`: prepended to every key the fleet writes. Default `fraiseql:`.
    public var keyPrefix = "fraiseql:"
    /// `connect_timeout`: default `2s`.
    public var connectTimeout: Duration = .seconds(2)
    /// `command_timeout`: default `2s`.
    public var commandTimeout: Duration = .seconds(2)
    /// `tls_ca_file`, `tls_cert_file`, `tls_key_file`: TLS to Redis (also on with a `rediss://`
    /// URL). The server certificate is always verified, against `tls_ca_file` when given.
    public var tls: TLSFiles?

    init(_ scope: ConfigScope) throws(ConfigError) {
        url = try scope.secret("url") ?? url
        guard url.value.hasPrefix("redis://") || url.value.hasPrefix("rediss://") else {
            throw scope.error("url", "expected a redis:// or rediss:// URL")
        }
        tls = try TLSFiles(scope, enabled: url.value.hasPrefix("rediss://"))
        keyPrefix = try scope.string("key_prefix", default: keyPrefix)
        connectTimeout = try scope.duration("connect_timeout", default: connectTimeout)
        commandTimeout = try scope.duration("command_timeout", default: commandTimeout)
    }
}

/// TLS files of a client: `tls_ca_file`, `tls_cert_file`, `tls_key_file`. Nil when TLS is off
/// (no key set and not `enabled` by the URL scheme).
public struct TLSFiles: Sendable, Hashable {
    public var caFile: String?
    public var certificateFile: String?
    public var keyFile: String?

    init?(_ scope: ConfigScope, enabled: Bool) throws(ConfigError) {
        caFile = try scope.optionalString("tls_ca_file")
        certificateFile = try scope.optionalString("tls_cert_file")
        keyFile = try scope.optionalString("tls_key_file")
        if (certificateFile == nil) != (keyFile == nil) {
            throw scope.error(
                certificateFile == nil ? "tls_cert_file" : "tls_key_file", "tls_cert_file and tls_key_file go together")
        }
        for (key, path) in [("tls_ca_file", caFile), ("tls_cert_file", certificateFile), ("tls_key_file", keyFile)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                throw scope.error(key, "cannot read '\(path)'")
            }
        }
        if !enabled && caFile == nil && certificateFile == nil { return nil }
    }
}

/// `[postgres]`, `[mysql]`, `[mssql]`
public struct DatabaseConfiguration: Sendable {
    /// `url`: connection URL; a secret (`url_env`, `url_file` work too). No default.
    public var url: Secret?
    /// `pool_size`: connections per service. Default 4.
    public var poolSize = 4

    init(_ scope: ConfigScope) throws(ConfigError) {
        url = try scope.secret("url")
        poolSize = try scope.int("pool_size", default: poolSize, range: 1...256)
    }
}

/// `[bridge]` and `[[bridge.tables]]`
public struct BridgeConfiguration: Sendable {
    /// `transport_name`: names the source in events and checkpoints. Default `pg-main`.
    public var transportName = "pg-main"
    /// `batch_size`: rows per publish batch. Default 500.
    public var batchSize = 500
    /// `poll_interval`: fallback wake-up when no notification arrives. Default `1s`.
    public var pollInterval: Duration = .seconds(1)
    /// `retention`: published change-log rows captured longer ago than this are deleted. Default `3d`.
    public var retention: Duration = .seconds(3 * 86_400)
    /// `oversized`: an event larger than the NATS server's `max_payload` is set aside in the
    /// bridge's dead-letter table (`dead_letter`, the default) or published without `before`,
    /// `after` and `changes`, marked `images_omitted` (`omit_images`).
    public var oversized = "dead_letter"
    /// `capture_role`: the NOLOGIN role that owns the capture trigger function, which runs with
    /// its rights (insert into the change log, nothing else). `install` creates it when missing.
    /// Default `fraiseql_capture`.
    public var captureRole = BridgeConfiguration.defaultCaptureRole
    public static let defaultCaptureRole = "fraiseql_capture"
    public var tables: [Table] = []

    public struct Table: Sendable {
        /// `table`: schema-qualified table name (`public.orders`). Required.
        public var table: String
        /// `entity`: entity type in events and subjects. Required; `[a-z0-9_-]` after lower-casing.
        public var entity: String
        /// `id_column`: default `id`.
        public var idColumn: String
        /// `include_columns` / `exclude_columns`: optional column lists.
        public var includeColumns: [String]
        public var excludeColumns: [String]
        /// `tenant_column`: optional column whose value becomes the event's `tenant_id`.
        public var tenantColumn: String?

        public init(
            table: String, entity: String, idColumn: String = "id", includeColumns: [String] = [],
            excludeColumns: [String] = [], tenantColumn: String? = nil
        ) {
            self.table = table
            self.entity = entity
            self.idColumn = idColumn
            self.includeColumns = includeColumns
            self.excludeColumns = excludeColumns
            self.tenantColumn = tenantColumn
        }
    }

    init(_ scope: ConfigScope) throws(ConfigError) {
        transportName = try scope.string("transport_name", default: transportName)
        batchSize = try scope.int("batch_size", default: batchSize, range: 1...100_000)
        pollInterval = try scope.duration("poll_interval", default: pollInterval)
        retention = try scope.duration("retention", default: retention)
        oversized = try scope.choice("oversized", ["dead_letter", "omit_images"], default: oversized)
        captureRole = try scope.string("capture_role", default: captureRole)
        guard !captureRole.isEmpty, captureRole.utf8.count <= 63 else {
            throw scope.error("capture_role", "must be a role name of 1 to 63 bytes")
        }
        tables = try scope.tables("tables").map { table throws(ConfigError) in
            guard let name = try table.optionalString("table") else { throw table.error("table", "is required") }
            guard let entity = try table.optionalString("entity") else { throw table.error("entity", "is required") }
            do throws(SubjectError) {
                _ = try SubjectNamer.entityToken(entity)
            } catch {
                throw table.error("entity", error.description)
            }
            return Table(
                table: name, entity: entity, idColumn: try table.string("id_column", default: "id"),
                includeColumns: try table.strings("include_columns", default: []),
                excludeColumns: try table.strings("exclude_columns", default: []),
                tenantColumn: try table.optionalString("tenant_column"))
        }
    }
}

/// Reads `{ kind, base, cap, jitter }` into a ``BackoffPolicy``.
func backoffPolicy(_ scope: ConfigScope, default fallback: BackoffPolicy) throws(ConfigError) -> BackoffPolicy {
    guard scope.contains("kind") || scope.contains("base") || scope.contains("cap") || scope.contains("jitter") else {
        return fallback
    }
    let kind = try scope.choice("kind", BackoffPolicy.Kind.allCases.map(\.rawValue), default: fallback.kind.rawValue)
    let base = try scope.duration("base", default: .milliseconds(fallback.baseMilliseconds))
    let cap = try scope.duration("cap", default: .milliseconds(fallback.capMilliseconds))
    let jitter = try scope.double("jitter", default: fallback.jitter, range: 0...1)
    guard cap.milliseconds >= base.milliseconds else { throw scope.error("cap", "must not be below base") }
    return BackoffPolicy(
        kind: BackoffPolicy.Kind(rawValue: kind)!, baseMilliseconds: base.milliseconds,
        capMilliseconds: cap.milliseconds,
        jitter: jitter)
}

/// `[observer]`
public struct ObserverConfiguration: Sendable {
    /// `transport`: `nats` or `postgres`. Default `nats`.
    public var transport = "nats"
    /// `consumer`: durable consumer name shared by all replicas. Default `observer-worker`.
    public var consumer = "observer-worker"
    /// `max_in_flight`: messages processed at once per worker. Default 256.
    public var maxInFlight = 256
    /// `max_deliver`: attempts of an event (deliveries that tried its failing actions) before
    /// `on_failure`, the default of each observer's `max_attempts`. Default 16: with the default
    /// `backoff` the 15 waits add up to about 27 hours (docs/configuration.md has the schedule).
    public var maxDeliver = 16
    /// `delivery_limit`: deliveries of one message, whatever their cause (attempts, refusals by
    /// an open circuit, hand-backs at shutdown, crashes), past which the worker dead-letters it
    /// before even decoding it (reason `delivery_limit`); the durable consumer's `max_deliver` is
    /// this plus 10, the server's backstop. Default 500.
    public var deliveryLimit = 500
    /// `max_event_bytes`: a larger message is dead-lettered (`too_large`) without being decoded.
    /// Default 8 MiB.
    public var maxEventBytes = 8 << 20
    /// `ack_wait`: default `30s`.
    public var ackWait: Duration = .seconds(30)
    /// `backoff`: `{ kind, base, cap, jitter }`. Default exponential 5s → 8h, jitter 0.2.
    public var backoff = ObserverConfiguration.defaultBackoff
    public static let defaultBackoff = BackoffPolicy(
        kind: .exponential, baseMilliseconds: 5_000, capMilliseconds: 8 * 3_600_000, jitter: 0.2)
    /// `dedup_window`: how long processed event ids are remembered. Default `10m`.
    public var dedupWindow: Duration = .seconds(600)
    /// `done_ttl`: how long per-action done marks are kept (longer than an event can be redelivered). Default `24h`.
    public var doneTTL: Duration = .seconds(86_400)
    /// `circuit_failure_rate`: the share of calls to one endpoint within `circuit_window` that
    /// failed retryably, at or above which its circuit opens. Default 0.5.
    public var circuitFailureRate = 0.5
    /// `circuit_min_calls`: calls within `circuit_window` before the rate counts. Default 20.
    public var circuitMinCalls = 20
    /// `circuit_window`: how far back calls count toward the rate. Default `30s`.
    public var circuitWindow: Duration = .seconds(30)
    /// `circuit_reset`: how long an open circuit stays open before one trial request. Default `30s`.
    public var circuitReset: Duration = .seconds(30)
    /// `shutdown_grace`: on SIGTERM, in-flight events get this long, the rest are NAKed. Default
    /// `10s`, at most `maxShutdownGrace`.
    public var shutdownGrace: Duration = .seconds(10)
    public static let maxShutdownGrace: Duration = .seconds(15)
    /// `dlq_max_length`: approximate cap of the observer dead-letter stream. Default 100000.
    public var deadLetterMaxLength = 100_000

    init(_ scope: ConfigScope) throws(ConfigError) {
        transport = try scope.choice("transport", ["nats", "postgres"], default: transport)
        consumer = try scope.string("consumer", default: consumer)
        maxInFlight = try scope.int("max_in_flight", default: maxInFlight, range: 1...100_000)
        maxDeliver = try scope.int("max_deliver", default: maxDeliver, range: 1...1000)
        deliveryLimit = try scope.int("delivery_limit", default: deliveryLimit, range: 10...100_000)
        maxEventBytes = try scope.int("max_event_bytes", default: maxEventBytes, range: 1024...(256 << 20))
        ackWait = try scope.duration("ack_wait", default: ackWait)
        backoff = try backoffPolicy(scope.section("backoff"), default: backoff)
        dedupWindow = try scope.duration("dedup_window", default: dedupWindow)
        doneTTL = try scope.duration("done_ttl", default: doneTTL)
        // They are the marks' expiry in Redis: 0 would delete every mark of a hash it is set on.
        for (key, value) in [("dedup_window", dedupWindow), ("done_ttl", doneTTL)] where value < .seconds(1) {
            throw scope.error(key, "must be at least 1s")
        }
        guard doneTTL >= dedupWindow else {
            // A one-action event's done mark is its only mark: it must last the dedup window.
            throw scope.error("done_ttl", "must be at least dedup_window (\(dedupWindow))")
        }
        if scope.contains("circuit_failures") {
            throw scope.error(
                "circuit_failures",
                "was replaced by circuit_failure_rate, circuit_min_calls and circuit_window (a circuit opens on a failure rate, not a run of failures)"
            )
        }
        circuitFailureRate = try scope.double("circuit_failure_rate", default: circuitFailureRate, range: 0.01...1)
        circuitMinCalls = try scope.int("circuit_min_calls", default: circuitMinCalls, range: 1...100_000)
        circuitWindow = try scope.duration("circuit_window", default: circuitWindow)
        guard circuitWindow >= .seconds(1) else { throw scope.error("circuit_window", "must be at least 1s") }
        circuitReset = try scope.duration("circuit_reset", default: circuitReset)
        shutdownGrace = try scope.duration("shutdown_grace", default: shutdownGrace)
        guard shutdownGrace <= Self.maxShutdownGrace else {
            throw scope.error(
                "shutdown_grace",
                "at most 15s: the worker's whole shutdown (the grace, the last marks and acks) must end within the 25 s a service gets after SIGTERM"
            )
        }
        deadLetterMaxLength = try scope.int("dlq_max_length", default: deadLetterMaxLength, range: 100...100_000_000)
    }
}

/// One `[[observers]]` entry. Action settings are kept as read and validated by observer-worker.
public struct ObserverDefinition: Sendable {
    public static let actionKinds = ["webhook", "slack", "email", "search", "job", "log"]

    /// `name`: required, unique.
    public var name: String
    /// `entity`: the entity type to match. Required.
    public var entity: String
    /// `operations`: default all three.
    public var operations: [Contracts.Operation]
    /// `condition`: optional expression (see docs/configuration.md).
    public var condition: String?
    /// `[[observers.actions]]`: each with a `kind`.
    public var actions: [Action]
    /// The retry and failure policy of the observer's actions.
    public var retry: RetryPolicy
    /// The observer's table, for errors that name its keys.
    public var scope: ConfigScope

    /// What happens when an action of the observer keeps failing.
    public struct RetryPolicy: Sendable, Equatable {
        public enum OnFailure: String, Sendable, CaseIterable {
            /// A `DeadLetter` with the reason, and the message is terminated (it can be replayed).
            case deadLetter = "dead_letter"
            /// The failure is logged and counted, and the action is given up: the event is done
            /// for it (for notifications that are worthless late).
            case log
        }

        /// `max_attempts`: deliveries of an event before `on_failure` applies to a retryable
        /// failure. Default: `[observer] max_deliver`.
        public var maxAttempts: Int
        /// `backoff`: `{ kind, base, cap, jitter }`, the delay before the next delivery; keys not
        /// given come from `[observer] backoff`.
        public var backoff: BackoffPolicy
        /// `on_failure`: `dead_letter` (default) or `log`; applies to permanent failures at once
        /// and to retryable ones after `max_attempts`.
        public var onFailure: OnFailure

        public init(maxAttempts: Int, backoff: BackoffPolicy, onFailure: OnFailure = .deadLetter) {
            self.maxAttempts = maxAttempts
            self.backoff = backoff
            self.onFailure = onFailure
        }
    }

    public struct Action: Sendable {
        public var kind: String
        /// The action's other keys, for the observer-worker to validate.
        public var settings: [String: ConfigValue]
        /// Where the action is in the file (`observers[0].actions[1]`), for errors.
        public var path: String
        /// The action's table, for reading its keys with errors that name them.
        public var scope: ConfigScope
    }

    init(_ scope: ConfigScope, defaults: ObserverConfiguration) throws(ConfigError) {
        self.scope = scope
        guard let name = try scope.optionalString("name") else { throw scope.error("name", "is required") }
        guard let entity = try scope.optionalString("entity") else { throw scope.error("entity", "is required") }
        self.name = name
        self.entity = entity
        var operations: [Contracts.Operation] = []
        for text in try scope.strings("operations", default: Contracts.Operation.allCases.map(\.rawValue)) {
            guard let operation = Contracts.Operation(rawValue: text) else {
                throw scope.error("operations", "'\(text)' is not one of insert, update, delete")
            }
            operations.append(operation)
        }
        self.operations = operations
        condition = try scope.optionalString("condition")
        actions = try scope.tables("actions").map { action throws(ConfigError) in
            let kind = try action.choice("kind", Self.actionKinds, default: "")
            var settings = action.node
            settings["kind"] = nil
            for key in settings.keys { action.reader.markConsumed(action.fullPath(key)) }
            return Action(kind: kind, settings: settings, path: action.path, scope: action)
        }
        guard !actions.isEmpty else { throw scope.error("actions", "an observer needs at least one action") }
        retry = RetryPolicy(
            maxAttempts: try scope.int("max_attempts", default: defaults.maxDeliver, range: 1...1000),
            backoff: try backoffPolicy(scope.section("backoff"), default: defaults.backoff),
            onFailure: RetryPolicy.OnFailure(
                rawValue: try scope.choice(
                    "on_failure", RetryPolicy.OnFailure.allCases.map(\.rawValue),
                    default: RetryPolicy.OnFailure.deadLetter.rawValue))!)
    }
}

/// `[jobs]`
public struct JobsConfiguration: Sendable {
    /// `queues`: default `["default"]`.
    public var queues = ["default"]
    /// `concurrency`: jobs run at once per worker. Default 32.
    public var concurrency = 32
    /// `visibility_timeout`: a job held longer by a silent worker is reclaimed. Default `60s`.
    public var visibilityTimeout: Duration = .seconds(60)
    /// `max_attempts`: default 5.
    public var maxAttempts = 5
    /// `backoff`: `{ kind, base, cap, jitter }`, for jobs enqueued without their own policy.
    /// Default exponential 500ms → 5m, jitter 0.2.
    public var backoff = BackoffPolicy.default
    /// `job_timeout`: an attempt running longer is cancelled and counted as failed (a job's own
    /// `timeout_ms` wins). Default `5m`.
    public var jobTimeout: Duration = .seconds(300)
    /// `shutdown_grace`: on SIGTERM, running jobs get this long to finish before they are put back
    /// on their queue. Default `10s`, at most 15 s.
    public var shutdownGrace: Duration = .seconds(10)
    /// `scheduler_interval`: how often due retries are moved back to their queue. Default `100ms`.
    public var schedulerInterval: Duration = .milliseconds(100)
    /// `unique_ttl`: the longest a uniqueness key is held (it is released when its job finishes). Default `24h`.
    public var uniqueTTL: Duration = .seconds(86_400)
    /// `dlq_max_length`: approximate cap of each dead-letter stream. Default 100000.
    public var deadLetterMaxLength = 100_000
    /// `consumer`: this worker's consumer name in the group. Default `<hostname>-<pid>-<random>`.
    public var consumer: String?
    /// `http_allowed_hosts`: where `http` jobs may send requests (their URL comes from event data).
    /// Host names, `*.domain`, addresses or networks (`10.0.0.0/8`). Empty (default): any host
    /// with public addresses only. Loopback, link-local and private addresses are refused unless an
    /// entry names the host or covers the address. Checked by job-worker (`OutboundPolicy`).
    public var httpAllowedHosts: [String] = []

    init(_ scope: ConfigScope) throws(ConfigError) {
        queues = try scope.strings("queues", default: queues)
        for queue in queues where queue.isEmpty || queue.contains(where: { $0 == ":" || $0 == " " }) {
            throw scope.error("queues", "'\(queue)' is not a queue name (no ':' or spaces, not empty)")
        }
        jobTimeout = try scope.duration("job_timeout", default: jobTimeout)
        shutdownGrace = try scope.duration("shutdown_grace", default: shutdownGrace)
        guard shutdownGrace <= ObserverConfiguration.maxShutdownGrace else {
            throw scope.error(
                "shutdown_grace",
                "at most 15s: the worker's whole shutdown (the grace, then putting unfinished jobs back) must end within the 25 s a service gets after SIGTERM"
            )
        }
        schedulerInterval = try scope.duration("scheduler_interval", default: schedulerInterval)
        uniqueTTL = try scope.duration("unique_ttl", default: uniqueTTL)
        deadLetterMaxLength = try scope.int("dlq_max_length", default: deadLetterMaxLength, range: 100...100_000_000)
        consumer = try scope.optionalString("consumer")
        httpAllowedHosts = try scope.strings("http_allowed_hosts", default: httpAllowedHosts)
        concurrency = try scope.int("concurrency", default: concurrency, range: 1...10_000)
        visibilityTimeout = try scope.duration("visibility_timeout", default: visibilityTimeout)
        maxAttempts = try scope.int("max_attempts", default: maxAttempts, range: 1...1000)
        backoff = try backoffPolicy(scope.section("backoff"), default: backoff)
    }
}

/// `[smtp]`: the relay for `email` actions and jobs.
public struct SMTPConfiguration: Sendable {
    /// `host`: no default; without it, e-mail actions and jobs fail permanently.
    public var host: String?
    /// `port`: default 587.
    public var port = 587
    /// `security`: `starttls` (required, the default), `tls` (port 465) or `none` (a local relay).
    public var security = "starttls"
    /// `username`: for AUTH (PLAIN, or LOGIN when that is all the server offers).
    public var username: String?
    /// `password`: a secret (`password_env`, `password_file`).
    public var password: Secret?
    /// `from`: default sender address.
    public var from = "fraiseql-observer@localhost"
    /// `helo_name`: default `localhost`.
    public var heloName = "localhost"
    /// `timeout`: the whole SMTP transaction. Default `30s`.
    public var timeout: Duration = .seconds(30)
    /// `ca_file`: PEM of extra trusted CA certificates (a private relay).
    public var caFile: String?

    init(_ scope: ConfigScope) throws(ConfigError) {
        host = try scope.optionalString("host")
        port = try scope.int("port", default: port, range: 1...65535)
        security = try scope.choice("security", ["starttls", "tls", "none"], default: security)
        username = try scope.optionalString("username")
        password = try scope.secret("password")
        from = try scope.string("from", default: from)
        heloName = try scope.string("helo_name", default: heloName)
        timeout = try scope.duration("timeout", default: timeout)
        caFile = try scope.optionalString("ca_file")
        if (username == nil) != (password == nil) {
            throw scope.error(username == nil ? "username" : "password", "username and password go together")
        }
    }
}

/// `[search]`: the audit index of `search` actions.
public struct SearchConfiguration: Sendable {
    /// `elasticsearch_url`: use Elasticsearch's bulk API instead of the PostgreSQL full-text table;
    /// a secret (`_env`, `_file`) since it may carry credentials.
    public var elasticsearchURL: Secret?
    /// `index`: default index name. Default `fraiseql-audit`.
    public var index = "fraiseql-audit"

    init(_ scope: ConfigScope) throws(ConfigError) {
        elasticsearchURL = try scope.secret("elasticsearch_url")
        index = try scope.string("index", default: index)
    }
}

/// `[flight]`
public struct FlightConfiguration: Sendable {
    /// `listen`: default `0.0.0.0:8815`.
    public var address = ListenAddress(host: "0.0.0.0", port: 8815)
    /// `batch_rows`: rows per Arrow record batch. Default 8192.
    public var batchRows = 8192
    /// `token`: bearer token clients must present; a secret (`token_env`, `token_file`).
    public var token: Secret?

    init(_ scope: ConfigScope) throws(ConfigError) {
        let listen = try scope.string("listen", default: "0.0.0.0:8815")
        address = try ListenAddress(listen, key: scope.fullPath("listen"), scope: scope)
        batchRows = try scope.int("batch_rows", default: batchRows, range: 1...1_000_000)
        token = try scope.secret("token")
    }
}

/// `[metrics]`
public struct MetricsConfiguration: Sendable {
    /// `listen`: the ops port (`/metrics`, `/health/live`, `/health/ready`). Default `0.0.0.0:9090`.
    /// Override per process with `FRAISEQL_METRICS_LISTEN` when services share a host.
    public var address = ListenAddress(host: "0.0.0.0", port: 9090)
    /// `enabled`: export metrics. Default true.
    public var enabled = true

    init(_ scope: ConfigScope) throws(ConfigError) {
        let listen = try scope.string("listen", default: "0.0.0.0:9090")
        address = try ListenAddress(listen, key: scope.fullPath("listen"), scope: scope)
        enabled = try scope.bool("enabled", default: enabled)
    }
}

/// `host:port`.
public struct ListenAddress: Sendable, Hashable {
    public var host: String
    public var port: Int

    public init(_ text: String, key: String, scope: ConfigScope) throws(ConfigError) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port), colon > text.startIndex
        else { throw scope.reader.error(key, "expected host:port, got '\(text)'") }
        self.host = String(text[..<colon])
        self.port = port
    }

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}
