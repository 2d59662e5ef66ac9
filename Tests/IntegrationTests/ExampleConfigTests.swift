import Foundation
import Testing

/// The configurations users start from load exactly as the services will load them:
/// `fraiseql-observer validate` on every file of examples/ and deploy/config/ (the demo's
/// template has placeholders that scripts/demo.sh fills in: checked by `make demo`).
@Suite("example configurations")
struct ExampleConfigTests {
    @Test("every file of examples/ and deploy/config/ passes fraiseql-observer validate")
    func validate() async throws {
        var files: [String] = []
        for directory in ["examples", "deploy/config"] {
            let url = repositoryRoot.appendingPathComponent(directory)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { continue }
            files += names.filter { $0.hasSuffix(".toml") && $0 != "demo.toml" }.map {
                url.appendingPathComponent($0).path
            }
        }
        #expect(files.count >= 6, "\(files)")
        for file in files.sorted() {
            let (status, errors) = try await Binaries.run("fraiseql-observer", ["validate", "--config", file])
            #expect(status == 0, "\(file): \(errors)")
        }
    }
}
