import Foundation

/// `state.json` of a large run (thousands of `foreach` item records), written compact and one
/// item at a time: the run without its items is encoded whole, each item is masked, encoded and
/// written on its own, so that writing the checkpoint never holds a second copy of the run (as a
/// value tree, a string and a buffer) beside the one in memory. The bytes are those of
/// `state.maskedForDisk(by:).toValue().jsonString()` (compact): `items` is a step record's last key.
extension StateStore {
    /// Writes `state.json` compact, item by item; returns the size written.
    func writeCompact(_ state: RunState, masker: Masker) throws -> Int {
        var head = state
        var groups: [Int] = []
        for i in state.steps.indices where state.steps[i].items != nil {
            head.steps[i].items = nil
            groups.append(i)
        }
        // Each group's items stand in as a marker string no masking or encoding can produce.
        var value = head.maskedForDisk(by: masker).toValue()
        if case .array(var steps)? = value["steps"] {
            for i in groups { steps[i]["items"] = .string(StateStore.marker(i)) }
            value["steps"] = .array(steps)
        }
        let text = value.jsonBytes(pretty: false)
        var size = 0
        try DurableFile.replace(stateFile(state.runID)) { emit in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(64 << 10)
            func put(_ bytes: some Collection<UInt8>) throws {
                buffer.append(contentsOf: bytes)
                if buffer.count >= 64 << 10 { try flush() }
            }
            func flush() throws {
                size += buffer.count
                try emit(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
            var rest = text[...]
            for i in groups {
                let marker = Array(Value.string(StateStore.marker(i)).jsonBytes(pretty: false))
                guard let at = rest.firstRange(of: marker) else { continue }
                try put(rest[..<at.lowerBound])
                try put([UInt8(ascii: "[")])
                for (n, item) in state.steps[i].items!.enumerated() {
                    if n > 0 { try put([UInt8(ascii: ",")]) }
                    // Masked as the group's record masks its items (State may not use Team's RunRecordLayout).
                    var one = StepRecord(id: "", action: "")
                    one.items = [item]
                    try put((one.maskedForDisk(by: masker).items ?? [])[0].toValue().jsonBytes(pretty: false))
                }
                try put([UInt8(ascii: "]")])
                rest = rest[at.upperBound...]
            }
            try put(rest)
            try put([0x0A])
            try flush()
        }
        return size
    }

    private static func marker(_ step: Int) -> String { "\u{1}items of step \(step)\u{1}" }
}
