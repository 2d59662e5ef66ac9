extension Duration {
    /// Whole milliseconds, truncated toward zero; saturating: a duration past Int64's range (a
    /// `Retry-After` of centuries) is `Int64.max` (or `.min`), never a trap.
    public var milliseconds: Int64 { units(perSecond: 1000) }

    /// Whole microseconds, truncated toward zero; saturating.
    public var microseconds: Int64 { units(perSecond: 1_000_000) }

    /// Whole nanoseconds, truncated toward zero; saturating (292 years and more read as the largest).
    public var nanoseconds: Int64 { units(perSecond: 1_000_000_000) }

    /// Seconds with their fraction (for SQL intervals and printed figures).
    public var fractionalSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    private func units(perSecond: Int64) -> Int64 {
        let (seconds, attoseconds) = components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: perSecond)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflowAgain) = whole.addingReportingOverflow(
            attoseconds / (1_000_000_000_000_000_000 / perSecond))
        return overflowAgain ? (seconds < 0 ? .min : .max) : total
    }
}
