import Foundation

/// `state.json` of a large run (thousands of `foreach` item records), written compact and in
/// parts: the run is streamed through a 64 KB buffer (its steps' outputs may be large too) and
/// each item is masked and encoded on its own, so that writing the checkpoint never holds a
/// second copy of the run (as a value tree, a string and a buffer) beside the one in memory. The
/// bytes are those of `state.maskedForDisk(by:).toValue().jsonString()` (compact): `items` is a
/// step record's last key.
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
        var size = 0
        try DurableFile.replace(stateFile(state.runID)) { emit in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(80 << 10)
            func flush(_ out: inout [UInt8]) throws {
                size += out.count
                try emit(out)
                out.removeAll(keepingCapacity: true)
            }
            // the head streams too: a step's outputs may be large (a thousand listed objects)
            try value.writeJSON(to: &buffer, flushAt: 64 << 10, flush: flush) { v, out in
                guard case .string(let s) = v, let i = groups.first(where: { StateStore.marker($0) == s }) else { return false }
                out.append(UInt8(ascii: "["))
                for (n, item) in state.steps[i].items!.enumerated() {
                    if n > 0 { out.append(UInt8(ascii: ",")) }
                    out.append(contentsOf: item.maskedForDisk(by: masker).toValue().jsonBytes(pretty: false))
                    if out.count >= 64 << 10 { try flush(&out) }
                }
                out.append(UInt8(ascii: "]"))
                return true
            }
            buffer.append(0x0A)
            try flush(&buffer)
        }
        return size
    }

    private static func marker(_ step: Int) -> String { "\u{1}items of step \(step)\u{1}" }
}
