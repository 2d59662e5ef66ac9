/// What the bridge does with an event larger than the server takes (`bridge.oversized`).
public enum OversizedPolicy: String, Sendable, CaseIterable {
    /// Set aside in the source's dead-letter place; the changes after it flow on.
    case deadLetter = "dead_letter"
    /// Published without `before`, `after` and `changes`, with `images_omitted: true`; set aside
    /// if even that is too large.
    case omitImages = "omit_images"
}
