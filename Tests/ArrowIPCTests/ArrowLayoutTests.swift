import Testing

@testable import ArrowIPC

/// Byte layouts from the Arrow columnar format specification, checked without a reader.
@Suite("Arrow IPC byte layouts")
struct ArrowLayoutTests {
    @Test("a validity bitmap is least significant bit first, and empty without nulls")
    func validity() {
        var column = PrimitiveColumn<Int32>()
        for value in [1, nil, 3, 4, nil, 6, 7, 8, 9] as [Int32?] { column.append(value) }
        let array = column.finish()
        #expect(array.length == 9)
        #expect(array.nullCount == 2)
        // Values 0, 2, 3, 5, 6, 7 present in the first byte: 0b1110_1101; value 8 in the second.
        #expect(array.buffers[0] == [0b1110_1101, 0b0000_0001])
        #expect(array.buffers[1].count == 9 * 4)
        #expect(Array(array.buffers[1][0..<8]) == [1, 0, 0, 0, 0, 0, 0, 0])

        for value in [Int32](1...3) { column.append(value) }
        let full = column.finish()
        #expect(full.nullCount == 0)
        #expect(full.buffers[0].isEmpty)
    }

    @Test("text columns have length + 1 offsets into one data buffer")
    func text() {
        var column = UTF8Column()
        column.append("ab")
        column.append(nil)
        column.append("")
        column.append("é")
        let array = column.finish()
        let offsets = array.buffers[1].withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        #expect(offsets == [0, 2, 2, 2, 4])
        #expect(array.buffers[2] == Array("abé".utf8))
        #expect(array.buffers[0] == [0b1101])
    }

    @Test("booleans are bit-packed")
    func booleans() {
        var column = BoolColumn()
        for value in [true, false, true, true, false, false, false, false, true] { column.append(value) }
        let array = column.finish()
        #expect(array.buffers[1] == [0b0000_1101, 0b0000_0001])
    }

    @Test("a dictionary column sends each new value once, then deltas")
    func dictionary() {
        var column = DictionaryColumn()
        for value in ["order", "user", "order", nil] { column.append(value) }
        let first = column.takeDictionaryDelta()
        #expect(first?.isDelta == false)
        #expect(first?.values.length == 2)
        let indices = column.finish().buffers[1].withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        #expect(indices == [0, 1, 0, 0])
        column.append("user")
        #expect(column.takeDictionaryDelta() == nil)
        column.append("invoice")
        let second = column.takeDictionaryDelta()
        #expect(second?.isDelta == true)
        #expect(second?.values.buffers[2] == Array("invoice".utf8))
    }

    @Test("a framed message: continuation marker, padded metadata length, 64-byte aligned body buffers")
    func framing() throws {
        let encoder = ArrowStreamEncoder(schema: ArrowSchema([ArrowField("n", .int64)]))
        var column = PrimitiveColumn<Int64>()
        for value in [Int64](1...3) { column.append(value) }
        let message = try encoder.recordBatch(length: 3, columns: [column.finish()])
        let framed = message.framed()
        #expect(Array(framed[0..<4]) == [0xFF, 0xFF, 0xFF, 0xFF])
        let length = framed[4..<8].withUnsafeBytes { $0.loadUnaligned(as: Int32.self) }
        #expect(Int(length) % 8 == 0)
        #expect(message.metadata.count % 8 == 0)
        // Validity (empty) at 0, then the 24 bytes of values at 0, padded to 64.
        #expect(message.body.count == 64)
        #expect(Array(message.body[0..<8]) == [1, 0, 0, 0, 0, 0, 0, 0])
        #expect(framed.count == 8 + Int(length) + 64)
    }
}
