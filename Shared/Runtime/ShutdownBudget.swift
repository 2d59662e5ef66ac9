/// How long a service has to stop after SIGTERM, and how much of it a worker may spend letting
/// running work finish before it puts the rest back.
public enum ShutdownBudget {
    /// The whole graceful shutdown of a service: below Kubernetes' default 30 s termination grace period.
    public static let service: Duration = .seconds(25)
    /// The longest `shutdown_grace` a worker may configure: the grace, then putting unfinished
    /// work back, must end within ``service``.
    public static let maximumDrainGrace: Duration = .seconds(15)
}
