import Contracts

extension ConfigScope {
    /// Reads this section, `{ kind, base, cap, jitter }`, into a ``BackoffPolicy``; `fallback` when none of them is set.
    public func backoffPolicy(default fallback: BackoffPolicy) throws(ConfigError) -> BackoffPolicy {
        guard contains("kind") || contains("base") || contains("cap") || contains("jitter") else {
            return fallback
        }
        let kind = try choice("kind", BackoffPolicy.Kind.allCases.map(\.rawValue), default: fallback.kind.rawValue)
        let base = try duration("base", default: .milliseconds(fallback.baseMilliseconds))
        let cap = try duration("cap", default: .milliseconds(fallback.capMilliseconds))
        let jitter = try double("jitter", default: fallback.jitter, range: 0...1)
        guard cap.milliseconds >= base.milliseconds else { throw error("cap", "must not be below base") }
        return BackoffPolicy(
            kind: BackoffPolicy.Kind(rawValue: kind)!, baseMilliseconds: base.milliseconds,
            capMilliseconds: cap.milliseconds,
            jitter: jitter)
    }
}
