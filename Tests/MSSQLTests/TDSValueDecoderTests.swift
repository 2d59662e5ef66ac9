import CFreeTDS
import Contracts
import Foundation
import FreeTDS
import Testing

/// The decoder fed values in db-lib's own binary layouts: each made by FreeTDS from text
/// (`dbconvert` from `SYBCHAR` into the type, no server involved), so the layout comes from the
/// library the bridge reads with, and the expected JSON from what the text says.
@Suite("TDS value decoding")
struct TDSValueDecoderTests {
    static let ready: Bool = TDSConnection.initialize()

    /// `text` converted by db-lib into `type`'s binary form.
    func recorded(_ text: String, as type: Int32, size: Int = 64) throws -> [UInt8] {
        try #require(Self.ready)
        var out = [UInt8](repeating: 0, count: size)
        let source = Array(text.utf8)
        let length = source.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { output in
                dbconvert(
                    nil, Int32(SYBCHAR), input.baseAddress, Int32(source.count), type, output.baseAddress, Int32(size))
            }
        }
        try #require(length > 0, "db-lib could not convert '\(text)' to type \(type)")
        return Array(out.prefix(Int(length)))
    }

    static let samples: [(Int32, String, JSONValue)] = [
        (TDSType.int1, "255", JSONValue.int(255)),
        (TDSType.int2, "-32768", .int(-32768)),
        (TDSType.int4, "-2147483648", .int(-2_147_483_648)),
        (TDSType.int8, "9223372036854775807", .int(Int64.max)),
        (TDSType.bit, "1", .bool(true)),
        (TDSType.bit, "0", .bool(false)),
        (TDSType.float8, "-2.25e-10", .double(-2.25e-10)),
        (TDSType.real, "1.5", .double(1.5)),
        (TDSType.money, "-922337203685477.5808", .double(-922_337_203_685_477.5808)),
        (TDSType.money, "12.5", .double(12.5)),
        (TDSType.money4, "-214748.3648", .double(-214748.3648)),
        (TDSType.datetime, "2024-01-02 03:04:05.123", .string("2024-01-02T03:04:05.123")),
        (TDSType.datetime, "1900-01-01 00:00:00", .string("1900-01-01T00:00:00")),
        (TDSType.datetime, "1899-12-31 23:59:59.997", .string("1899-12-31T23:59:59.997")),
        (TDSType.datetime4, "2024-01-02 03:04", .string("2024-01-02T03:04:00")),
        (TDSType.date, "2024-02-29", .string("2024-02-29")),
        (TDSType.date, "1753-01-01", .string("1753-01-01")),
        (TDSType.date, "1899-12-31", .string("1899-12-31")),
        (TDSType.time, "03:04:05.1234567", .string("03:04:05.1234567")),
        (TDSType.datetime2, "9999-12-31 23:59:59.9999999", .string("9999-12-31T23:59:59.9999999")),
        (
            TDSType.uniqueIdentifier, "6F9619FF-8B86-D011-B42D-00C04FC964FF",
            .string("6F9619FF-8B86-D011-B42D-00C04FC964FF")
        ),
        (TDSType.varchar, "héllo ✓", .string("héllo ✓")),
        (TDSType.binary, "00ff10", .string("\\x00ff10")),
    ]

    @Test("every type db-lib hands over", arguments: samples)
    func decodes(_ type: Int32, _ text: String, _ expected: JSONValue) throws {
        let bytes = try recorded(text, as: type)
        #expect(try TDSValueDecoder.json(type: type, bytes: bytes) == expected, "\(text): \(bytes)")
    }

    @Test("datetimeoffset: db-lib cannot parse one from text, so the layout is built here (DBDATETIMEALL)")
    func dateTimeOffset() throws {
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes += $0 } }
        let seconds: UInt64 = 3 * 3600 + 4 * 60 + 5
        append(seconds * 10_000_000 + 5_000_000)  // time, 100 ns units
        append(Int32(45_291))  // days since 1900-01-01: 2024-01-02
        append(Int16(120))  // offset, minutes
        let flags: UInt16 = 7 | 1 << 13 | 1 << 14 | 1 << 15
        append(flags)  // precision 7, has time, date, offset
        #expect(
            try TDSValueDecoder.json(type: TDSType.datetimeOffset, bytes: bytes)
                == .string("2024-01-02T03:04:05.5000000+02:00"))
        let behind =
            Array(bytes.prefix(12)) + withUnsafeBytes(of: Int16(-90).littleEndian) { Array($0) } + bytes.suffix(2)
        #expect(
            try TDSValueDecoder.json(type: TDSType.datetimeOffset, bytes: behind)
                == .string("2024-01-02T03:04:05.5000000-01:30"))
    }

    @Test("decimal and numeric: sign, scale and 38 digits, as db-lib lays them out")
    func decimals() throws {
        func numeric(_ text: String, precision: UInt8, scale: UInt8) throws -> [UInt8] {
            // db-lib converts into the precision and scale the destination already holds.
            var out = [UInt8](repeating: 0, count: 35)
            out[0] = precision
            out[1] = scale
            let source = Array(text.utf8)
            try #require(Self.ready)
            var info = DBTYPEINFO(precision: Int32(precision), scale: Int32(scale))
            let length = source.withUnsafeBufferPointer { input in
                out.withUnsafeMutableBufferPointer { output in
                    dbconvert_ps(
                        nil, Int32(SYBCHAR), input.baseAddress, Int32(source.count), Int32(SYBNUMERIC),
                        output.baseAddress, 35, &info)
                }
            }
            try #require(length > 0)
            return out
        }
        let cases: [(String, UInt8, UInt8, String)] = [
            ("-12345.678", 12, 3, "-12345.678"), ("0.5", 5, 2, "0.50"), ("0", 10, 0, "0"),
            ("12345678901234567890123456789012345678", 38, 0, "12345678901234567890123456789012345678"),
            ("-0.001", 10, 3, "-0.001"),
        ]
        for (text, precision, scale, wanted) in cases {
            let bytes = try numeric(text, precision: precision, scale: scale)
            #expect(
                try TDSValueDecoder.json(type: TDSType.numeric, bytes: bytes) == (try FastJSON.parse(wanted)), "\(text)"
            )
        }
    }

    @Test("a value too short or of an unknown type is an error, not a crash")
    func badInput() {
        #expect(throws: TDSValueDecoder.Unsupported.self) {
            try TDSValueDecoder.json(type: TDSType.int8, bytes: [1, 2])
        }
        #expect(throws: TDSValueDecoder.Unsupported.self) { try TDSValueDecoder.json(type: 9_999, bytes: []) }
        #expect(throws: TDSValueDecoder.Unsupported.self) {
            try TDSValueDecoder.json(type: TDSType.numeric, bytes: [99, 0, 0])
        }
    }

    @Test("an unreachable server: a clear connect error within the login timeout")
    func unreachable() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            _ = try await TDSConnection.connect(
                try TDSConfiguration(url: "mssql://sa:secret@127.0.0.1:1/master?login_timeout=3"))
            Issue.record("connected to nothing")
        } catch let error as TDSError {
            #expect(error.code == .connect)
            #expect(error.message.contains("127.0.0.1:1"), "\(error)")
            #expect(!error.description.contains("secret"))
        }
        #expect(clock.now - start < .seconds(10))
        #expect(throws: TDSError.self) { _ = try TDSConfiguration(url: "mssql://h/db?encrypt=maybe") }
    }
}

@Suite("mssql:// URL and the freetds.conf written for tls_ca")
struct TDSConfigurationTests {
    @Test("tls_ca is read from the URL; the file gets one section per verified server after an existing file's text")
    func configFile() throws {
        let verified = try TDSConfiguration(url: "mssql://sa:pw@db.example.com:14330/app?tls_ca=system")
        let plain = try TDSConfiguration(url: "mssql://sa:pw@other:1433/app")
        #expect(verified.tlsCA == "system" && plain.tlsCA == nil)
        let text = FreeTDSConfigFile.text(for: [verified, plain], existing: "[global]\n\ttext size = 64512")
        #expect(text.hasPrefix("[global]\n\ttext size = 64512\n"))
        #expect(text.contains("[fraiseql_db_example_com_14330]\n\thost = db.example.com\n\tport = 14330\n"))
        #expect(text.contains("\tencryption = require\n\tca file = system\n\tcheck certificate hostname = yes\n"))
        #expect(!text.contains("other"), "a server without tls_ca gets no section")
        #expect(!text.contains("pw"), "no password in the file")
    }

    @Test("bad tls_ca values are configuration errors")
    func badValues() {
        for url in [
            "mssql://sa@h/app?tls_ca=", "mssql://sa@h/app?tls_ca=/nonexistent.pem",
            "mssql://sa@h/app?encrypt=off&tls_ca=system",
        ] {
            #expect(throws: TDSError.self, "\(url)") { _ = try TDSConfiguration(url: url) }
        }
    }
}
