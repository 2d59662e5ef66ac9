/// The dead-letter queues this gateway knows (`GET /api/v1/dead-letters`).
struct QueueList: Codable, Sendable { var queues: [String] }
