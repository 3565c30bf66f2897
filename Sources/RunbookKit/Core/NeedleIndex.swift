import Foundation

/// Byte strings of at least four bytes ("needles"), found in a text in one pass whatever their
/// number: by their first four bytes, longest first within a bucket, behind a bitmap of those
/// keys' hashes, so that a position no needle starts at costs a multiply and a bit test (not a
/// dictionary lookup). Each needle is kept once (an O(1) set of them). The masker's secrets.
struct NeedleIndex: Sendable {
    /// The needles by their first four bytes, each bucket sorted by length, longest first.
    private(set) var buckets: [UInt32: [[UInt8]]] = [:]
    /// Every needle `insert` took, for an O(1) "already in?" (a fan-out registers thousands of
    /// secrets, many of them in one bucket: `postgresql://…` URLs all start with `post`).
    private var known: Set<[UInt8]> = []
    /// One bit per hash of the first four bytes of a needle.
    private var filter: [UInt64]
    private let shift: UInt32

    /// `bits` (a power of two) is the bitmap's size: 2^16 for thousands of needles, less for a few.
    init(bits: Int = 1 << 16) {
        precondition(bits >= 64 && bits & (bits - 1) == 0)
        filter = [UInt64](repeating: 0, count: bits / 64)
        shift = UInt32(32 - bits.trailingZeroBitCount)
    }

    /// An index of `needles`, all different (the masker's forms), its bitmap sized for their number.
    init<S: Collection>(distinct needles: S) where S.Element == [UInt8] {
        var bits = 64
        while bits < 16 * needles.count && bits < 1 << 16 { bits *= 2 }
        self.init(bits: bits)
        for n in needles where n.count >= NeedleIndex.minimumLength { add(n) }
    }

    /// Needles shorter than this are not kept.
    static let minimumLength = 4

    /// How many needles are in.
    private(set) var count = 0
    var isEmpty: Bool { count == 0 }

    /// Adds a needle; false when it is too short or already in.
    @discardableResult
    mutating func insert(_ needle: [UInt8]) -> Bool {
        guard needle.count >= NeedleIndex.minimumLength, known.insert(needle).inserted else { return false }
        add(needle)
        return true
    }

    /// Adds a needle known not to be in yet.
    private mutating func add(_ needle: [UInt8]) {
        let key = NeedleIndex.key(needle, 0)
        let at = buckets[key].map { NeedleIndex.place(of: needle.count, in: $0) } ?? 0
        buckets[key, default: []].insert(needle, at: at)
        let h = hash(key)
        filter[h >> 6] |= 1 << UInt64(h & 63)
        count += 1
    }

    /// Where a needle of `length` bytes goes in a bucket sorted longest first (after those as long).
    private static func place(of length: Int, in bucket: [[UInt8]]) -> Int {
        var low = 0, high = bucket.count
        while low < high {
            let mid = (low + high) / 2
            if bucket[mid].count >= length { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private static func key(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }

    private func hash(_ key: UInt32) -> Int { Int((key &* 0x9E37_79B1) >> shift) }

    /// The first needle in `text` at or after `start` (the longest of those starting there):
    /// its position and length. One pass: a rolling key of four bytes, a bit test per position.
    func next(in text: UnsafeBufferPointer<UInt8>, from start: Int) -> (at: Int, length: Int)? {
        let n = text.count
        guard count > 0, start >= 0, start + NeedleIndex.minimumLength <= n, let base = text.baseAddress else { return nil }
        return filter.withUnsafeBufferPointer { bits in
            var key = UInt32(text[start]) | UInt32(text[start + 1]) << 8 | UInt32(text[start + 2]) << 16 | UInt32(text[start + 3]) << 24
            var i = start
            while true {
                let h = hash(key)
                if bits[h >> 6] & (1 << UInt64(h & 63)) != 0, let bucket = buckets[key] {
                    let room = n - i
                    for needle in bucket where needle.count <= room {
                        let equal = needle.withUnsafeBufferPointer { memcmp(base + i, $0.baseAddress!, $0.count) == 0 }
                        if equal { return (i, needle.count) }
                    }
                }
                i += 1
                guard i + NeedleIndex.minimumLength <= n else { return nil }
                key = key >> 8 | UInt32(text[i + 3]) << 24
            }
        }
    }

    /// True when some needle occurs in `text`.
    func occurs(in text: [UInt8]) -> Bool {
        text.withUnsafeBufferPointer { next(in: $0, from: 0) != nil }
    }
}
