import Contracts
import Metrics

extension Timer {
    /// Records a `Duration` (swift-metrics' `recordInterval` wants a `DispatchTime`).
    public func record(_ duration: Duration) {
        recordNanoseconds(duration.nanoseconds)
    }
}
