import Logging

/// How a batch read relates to the previous one.
public enum ReadMode: Sendable {
    /// Continue after the changes returned last; the source may restart its scan from the
    /// beginning (that is how late-committed rows with lower positions are found).
    case next
    /// Read ahead while the previous changes are being published (not yet marked): continue
    /// after them and never restart; return nothing when a restart is due.
    case prefetch
    /// Start again from the oldest unpublished change (after a failed publish, so order holds).
    case restart
}
