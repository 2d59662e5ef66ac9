import Config
import Contracts
import Foundation

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

    public init(_ scope: ConfigScope) throws(ConfigError) {
        // It may carry credentials (`nats://user:password@host`): `url_env` and `url_file` too.
        url = try scope.secret("url")?.value ?? url
        subjectPrefix = try scope.string("subject_prefix", default: subjectPrefix)
        do throws(ContractsError) {
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

extension NATSConfiguration {
    /// The client settings for a service named `name`. The first connect is retried in the
    /// background, so a service starts (and reports not ready) while NATS is down.
    public func clientConfiguration(name: String) -> NATSClientConfiguration {
        NATSClientConfiguration(
            url: url, name: name, connectTimeout: connectTimeout, reconnectWait: reconnectWait,
            retryOnFailedConnect: true, requestTimeout: requestTimeout, tls: tls)
    }

    /// The stream of entity changes as configured in `[nats.stream]`.
    public var streamConfiguration: StreamConfiguration {
        StreamConfiguration(
            name: stream.name, subjects: ["\(subjectPrefix).>"], storage: stream.storage == "memory" ? .memory : .file,
            maxAge: stream.maxAge, duplicateWindow: stream.duplicateWindow, replicas: stream.replicas,
            maxBytes: Int64(stream.maxBytes), maxMessages: Int64(stream.maxMessages))
    }
}
