// swift-tools-version: 6.1
// The FraiseQL observer fleet: one package, every service, the shared libraries and their tests.
import Foundation
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

/// A service: a library target under `Services/<name>/` (what tests import) and a thin executable in its `Main/`.
func service(
    _ name: String, executable: String, dependencies: [Target.Dependency],
    executableDependencies: [Target.Dependency] = []
) -> [Target] {
    [
        .target(
            name: name,
            dependencies: dependencies,
            path: "Services/\(name)",
            exclude: ["Main"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: executable,
            dependencies: [.target(name: name), "FleetCore"] + executableDependencies,
            path: "Services/\(name)/Main",
            swiftSettings: swiftSettings,
            // jemalloc instead of glibc's malloc: the worker allocates a message on libnats's
            // delivery thread and frees it on a task's, which glibc serialises on its arena locks
            // (10% less worker CPU per event, docs/benchmarks.md). Debian: libjemalloc-dev.
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
        ),
    ]
}

let runtimeDeps: [Target.Dependency] = [
    "Runtime", "Config", "Contracts", "FleetCore",
    .product(name: "Logging", package: "swift-log"),
    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
]

let package = Package(
    name: "fraiseql-observer-fleet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pg-bridge", targets: ["pg-bridge"]),
        .executable(name: "mysql-bridge", targets: ["mysql-bridge"]),
        .executable(name: "mssql-bridge", targets: ["mssql-bridge"]),
        .executable(name: "observer-worker", targets: ["observer-worker"]),
        .executable(name: "job-worker", targets: ["job-worker"]),
        .executable(name: "flight-server", targets: ["flight-server"]),
        .executable(name: "metrics-gateway", targets: ["metrics-gateway"]),
        .executable(name: "fraiseql-observer", targets: ["fraiseql-observer"]),
        .executable(name: "fraiseql-bench", targets: ["fraiseql-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
    ],
    targets: [
        // Wire types only: no dependencies.
        .target(name: "Contracts", path: "Shared/Contracts", swiftSettings: swiftSettings),

        // C libraries, each wrapped once.
        .systemLibrary(
            name: "CNATS", path: "Shared/CNATS", pkgConfig: "libnats", providers: [.apt(["libnats-dev"])]),
        .target(
            name: "NATS",
            dependencies: [
                "Config", "Runtime",
                "Contracts",
                "CNATS",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/NATS",
            swiftSettings: swiftSettings
        ),
        .systemLibrary(
            name: "CHiredis", path: "Shared/CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .target(
            name: "Redis",
            dependencies: [
                "Config",
                "Contracts",
                "CHiredis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/Redis",
            swiftSettings: swiftSettings
        ),

        .systemLibrary(
            name: "CMariaDB", path: "Shared/CMariaDB", pkgConfig: "libmariadb", providers: [.apt(["libmariadb-dev"])]),
        .target(
            name: "MariaDB",
            dependencies: [
                "CMariaDB",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Shared/MariaDB",
            swiftSettings: swiftSettings
        ),

        // FreeTDS's db-lib has no pkg-config file on Debian: the library is named here.
        .systemLibrary(name: "CFreeTDS", path: "Shared/CFreeTDS", providers: [.apt(["freetds-dev"])]),
        .target(
            name: "FreeTDS",
            dependencies: [
                "CFreeTDS", "Contracts",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Shared/FreeTDS",
            swiftSettings: swiftSettings
        ),

        // Arrow IPC: the streaming format's messages (schema, dictionary and record batches), written
        // here from the Arrow columnar format and IPC specification; LZ4 frame / Zstandard bodies.
        .systemLibrary(name: "CLZ4", path: "Shared/CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        // flight-server's jemalloc settings (a C global jemalloc reads at start).
        .target(name: "CFlightAllocator", path: "Shared/CFlightAllocator"),
        .systemLibrary(name: "CZstd", path: "Shared/CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .target(
            name: "ArrowIPC", dependencies: ["CLZ4", "CZstd"], path: "Shared/ArrowIPC", swiftSettings: swiftSettings),
        // The Arrow Flight protocol: Proto/Flight.proto and the Swift code generated from it
        // (scripts/generate-flight.sh), committed.
        .target(
            name: "FlightProtocol",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Shared/FlightProtocol", exclude: ["Proto"], swiftSettings: swiftSettings),
        // The configuration reader: `fraiseql.toml` with environment overrides, typed reads that name
        // the key in their errors, secrets, durations. Each library builds its own section from it.
        .target(
            name: "Config",
            dependencies: ["Contracts", .product(name: "TOMLKit", package: "TOMLKit")],
            path: "Shared/Config",
            swiftSettings: swiftSettings
        ),
        // Logging, metrics, the ops HTTP server, readiness, and the concurrency primitives every service uses.
        .target(
            name: "Runtime",
            dependencies: [
                "Contracts", "Config",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            path: "Shared/Runtime",
            swiftSettings: swiftSettings
        ),
        // The shared bridge loop: read a batch after the checkpoint, publish, wait for PubAcks, mark, checkpoint.
        .target(
            name: "BridgeEngine",
            dependencies: [
                "Contracts", "Config", "NATS", "Runtime",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/BridgeEngine",
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL change log: DDL, triggers, the change source, advisory-lock leadership.
        .target(
            name: "PostgresChangeLog",
            dependencies: [
                "Contracts", "Config", "BridgeEngine", "Runtime",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/PostgresChangeLog",
            swiftSettings: swiftSettings
        ),
        // MySQL / MariaDB capture: the change-log schema and triggers (trigger mode), and the
        // bridge engine's adapter.
        .target(
            name: "MySQLChangeLog",
            dependencies: [
                "Contracts", "Config", "BridgeEngine", "Runtime", "MariaDB",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Shared/MySQLChangeLog",
            swiftSettings: swiftSettings
        ),
        // SQL Server capture: Change Tracking read by the bridge engine's adapter, its T-SQL.
        .target(
            name: "MSSQLChangeLog",
            dependencies: [
                "Contracts", "Config", "BridgeEngine", "FreeTDS",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/MSSQLChangeLog",
            swiftSettings: swiftSettings
        ),
        // The Redis job queue: enqueue, inspect, retry and purge the DLQ; the consuming side of job-worker.
        .target(
            name: "JobQueue",
            dependencies: ["Contracts", "Config", "Runtime", "Redis"],
            path: "Shared/JobQueue",
            swiftSettings: swiftSettings
        ),
        // Outbound deliveries shared by observer-worker actions and job kinds: HTTP with retry classes, SMTP.
        .target(
            name: "Delivery",
            dependencies: [
                "Contracts", "Config", "Runtime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Shared/Delivery",
            swiftSettings: swiftSettings
        ),
        // What every service shares above the libraries: the whole file's configuration (each
        // library's section plus the observers' and the Flight server's), the entry point, the clients.
        .target(
            name: "FleetCore",
            dependencies: [
                "Config", "Runtime", "Contracts", "NATS", "Redis", "Delivery", "JobQueue", "BridgeEngine",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Shared/FleetCore",
            swiftSettings: swiftSettings
        ),
    ]
        + service(
            "PGBridge", executable: "pg-bridge",
            dependencies: runtimeDeps + [
                "NATS", "BridgeEngine", "PostgresChangeLog", .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        )
        + service(
            "MySQLBridge", executable: "mysql-bridge",
            dependencies: runtimeDeps + ["NATS", "BridgeEngine", "MySQLChangeLog", "MariaDB"])
        + service(
            "MSSQLBridge", executable: "mssql-bridge",
            dependencies: runtimeDeps + ["NATS", "BridgeEngine", "MSSQLChangeLog", "FreeTDS"])
        + service(
            "ObserverWorker", executable: "observer-worker",
            dependencies: runtimeDeps + [
                "NATS", "Redis", "JobQueue", "Delivery", "BridgeEngine", "PostgresChangeLog",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        )
        + service(
            "JobWorker", executable: "job-worker",
            dependencies: runtimeDeps + [
                "Redis", "JobQueue", "Delivery", .product(name: "Metrics", package: "swift-metrics"),
            ]
        )
        + service(
            "FlightServer", executable: "flight-server",
            dependencies: runtimeDeps + [
                "NATS", "ArrowIPC", "FlightProtocol", "PostgresChangeLog", .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            executableDependencies: ["CFlightAllocator"]
        )
        + service(
            "MetricsGateway", executable: "metrics-gateway",
            dependencies: runtimeDeps + [
                "NATS", "Redis", "FleetAdmin", "PostgresChangeLog", .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        )
        + service(
            "ObserverCLI", executable: "fraiseql-observer",
            dependencies: runtimeDeps + [
                "NATS", "Redis", "PostgresChangeLog", "JobQueue", "ObserverWorker", "FleetAdmin",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        )
        + [
            // Fleet administration as values (status, dead letters, replay, audit search): the
            // library behind metrics-gateway's admin API and the operator CLI.
            .target(
                name: "FleetAdmin",
                dependencies: [
                    "Config", "Contracts", "Runtime", "FleetCore", "NATS", "Redis", "JobQueue", "PostgresChangeLog",
                    "ObserverWorker", .product(name: "PostgresNIO", package: "postgres-nio"),
                    .product(name: "Logging", package: "swift-log"), .product(name: "Crypto", package: "swift-crypto"),
                ],
                path: "Shared/FleetAdmin", swiftSettings: swiftSettings),
            .executableTarget(
                name: "fraiseql-bench",
                dependencies: [
                    "NATS", "Redis", "Contracts", "BridgeEngine", "PostgresChangeLog", "Runtime", "Config", "FleetCore",
                    "JobQueue", "MariaDB", "MySQLChangeLog", .product(name: "PostgresNIO", package: "postgres-nio"),
                    .product(name: "Hummingbird", package: "hummingbird"),
                    .product(name: "ArgumentParser", package: "swift-argument-parser"),
                    .product(name: "Metrics", package: "swift-metrics"),
                    .product(name: "Prometheus", package: "swift-prometheus"),
                ],
                path: "Benchmarks/ClientBench",
                swiftSettings: swiftSettings,
                // The services' allocator (see `service`): the bench runs their engines in process.
                linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]
            ),
            .testTarget(
                name: "ContractsTests", dependencies: ["Contracts"], exclude: ["Golden"],
                swiftSettings: swiftSettings),
            .testTarget(
                name: "RuntimeTests",
                dependencies: [
                    "Runtime", "Config", "FleetCore", "NATS", "Redis", "Delivery", "JobQueue", "BridgeEngine",
                ],
                swiftSettings: swiftSettings),
            .testTarget(name: "ArrowIPCTests", dependencies: ["ArrowIPC"], swiftSettings: swiftSettings),
            .testTarget(
                name: "PostgresChangeLogTests", dependencies: ["PostgresChangeLog", "Contracts"], exclude: ["Golden"],
                swiftSettings: swiftSettings),
            // What every bridge adapter is tested with: an in-memory change source, a recording
            // publisher and the conformance suite (Tests/BridgeEngineTesting).
            .target(
                name: "BridgeEngineTesting",
                dependencies: [
                    "BridgeEngine", "Contracts", "NATS",
                    .product(name: "Logging", package: "swift-log"),
                    .product(name: "Metrics", package: "swift-metrics"),
                ],
                path: "Tests/BridgeEngineTesting", swiftSettings: swiftSettings),
            .testTarget(
                name: "MSSQLTests",
                dependencies: [
                    "MSSQLChangeLog", "FreeTDS", "CFreeTDS", "BridgeEngine", "BridgeEngineTesting", "Contracts",
                    .product(name: "Logging", package: "swift-log"),
                    .product(name: "Prometheus", package: "swift-prometheus"),
                ],
                exclude: ["Golden"],
                swiftSettings: swiftSettings),
            .testTarget(
                name: "BridgeEngineTests",
                dependencies: [
                    "BridgeEngine", "BridgeEngineTesting", "Contracts", "Config", "Runtime",
                    .product(name: "Logging", package: "swift-log"),
                    .product(name: "Metrics", package: "swift-metrics"),
                    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                    .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                ],
                swiftSettings: swiftSettings),
            .testTarget(
                name: "ObserverTests",
                dependencies: ["ObserverWorker", "Contracts", "Config", "Runtime", "FleetCore", "Delivery"],
                swiftSettings: swiftSettings),
            .testTarget(
                name: "IntegrationTests",
                dependencies: [
                    "NATS", "Redis", "Contracts", "Config", "Runtime", "FleetCore", "BridgeEngine", "PostgresChangeLog",
                    "JobQueue", "Delivery", "JobWorker", "ObserverWorker", "BridgeEngineTesting", "MariaDB",
                    "MySQLChangeLog", "MySQLBridge", "FreeTDS", "MSSQLChangeLog",
                    .product(name: "PostgresNIO", package: "postgres-nio"),
                    .product(name: "Hummingbird", package: "hummingbird"),
                    .product(name: "HTTPTypes", package: "swift-http-types"),
                    .product(name: "AsyncHTTPClient", package: "async-http-client"),
                ],
                path: "Tests",
                exclude: [
                    "Peers", "ContractsTests", "RuntimeTests", "ObserverTests", "BridgeEngineTesting",
                    "BridgeEngineTests", "PostgresChangeLogTests", "ArrowIPCTests", "MSSQLTests",
                ],
                sources: ["IntegrationTests", "EndToEnd"],
                swiftSettings: swiftSettings
            ),
        ]
)

// The fuzz harness (Fuzz/, `make fuzz`): only with FRAISEQL_FUZZ=1, built with
// `-sanitize=fuzzer,address` (libFuzzer supplies `main`, so an ordinary build could not link it).
if ProcessInfo.processInfo.environment["FRAISEQL_FUZZ"] == "1" {
    package.products.append(.executable(name: "fraiseql-fuzz", targets: ["FuzzTargets"]))
    package.targets.append(
        .executableTarget(
            name: "FuzzTargets",
            dependencies: [
                "Contracts", "Config", "Runtime", "FleetCore", "Redis", "ObserverWorker",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Fuzz/FuzzTargets", swiftSettings: swiftSettings))
}
