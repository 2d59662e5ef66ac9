import CLZ4
import CZstd

/// Body compression of record and dictionary batches (Arrow's `BodyCompression`): each buffer
/// compressed on its own, as an LZ4 frame or a Zstandard frame. The only importer of CLZ4 and CZstd.
public enum ArrowCompression: Sendable, Hashable {
    case lz4Frame
    /// Zstandard at `level` (1 is fast; 3 is zstd's default).
    case zstd(level: Int32)

    /// The value of Arrow's `CompressionType`.
    var codec: Int8 {
        switch self {
        case .lz4Frame: 0
        case .zstd: 1
        }
    }

    /// `bytes` compressed, or nil when that would not make them smaller (the buffer then goes
    /// uncompressed, marked by an uncompressed length of -1).
    func compress(_ bytes: [UInt8]) throws(ArrowIPCError) -> [UInt8]? {
        switch self {
        case .lz4Frame:
            let bound = LZ4F_compressFrameBound(bytes.count, nil)
            var output = [UInt8](repeating: 0, count: bound)
            let written = output.withUnsafeMutableBytes { target in
                bytes.withUnsafeBytes { source in
                    LZ4F_compressFrame(target.baseAddress, bound, source.baseAddress, bytes.count, nil)
                }
            }
            if LZ4F_isError(written) != 0 {
                throw ArrowIPCError(code: .compression, message: String(cString: LZ4F_getErrorName(written)))
            }
            guard written < bytes.count else { return nil }
            output.removeLast(output.count - written)
            return output
        case .zstd(let level):
            let bound = ZSTD_compressBound(bytes.count)
            var output = [UInt8](repeating: 0, count: bound)
            let written = output.withUnsafeMutableBytes { target in
                bytes.withUnsafeBytes { source in
                    ZSTD_compress(target.baseAddress, bound, source.baseAddress, bytes.count, level)
                }
            }
            if ZSTD_isError(written) != 0 {
                throw ArrowIPCError(code: .compression, message: String(cString: ZSTD_getErrorName(written)))
            }
            guard written < bytes.count else { return nil }
            output.removeLast(output.count - written)
            return output
        }
    }
}
