import CZlib

/// Raw deflate (RFC 1951) of small texts kept in memory, with an optional preset dictionary
/// (texts alike — the records of a fan-out's items — compress to a fraction with one of their
/// own kind as the dictionary). Not a file format: what it makes is read back only by this process.
public enum Deflate {
    /// `bytes` compressed at zlib's fastest level, with `dictionary` when given.
    public static func compress(_ bytes: [UInt8], dictionary: [UInt8]? = nil) -> [UInt8] {
        var stream = z_stream()
        guard runbook_deflate_init_raw(&stream, Z_BEST_SPEED) == Z_OK else { preconditionFailure("deflateInit failed") }
        defer { deflateEnd(&stream) }
        if let dictionary {
            dictionary.withUnsafeBufferPointer { d in
                _ = deflateSetDictionary(&stream, d.baseAddress, uInt(d.count))
            }
        }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))))
        let (rc, left) = once(&stream, bytes, into: &out) { deflate(&$0, Z_FINISH) }
        precondition(rc == Z_STREAM_END, "deflate into a buffer of deflateBound's size did not finish (\(rc))")
        // exactly as long as needed: these are kept
        return Array(out[..<(out.count - left)])
    }

    /// The `size` bytes that `compress` made `deflated` from (with the same dictionary); nil when
    /// `deflated` is not such a text.
    public static func decompress(_ deflated: [UInt8], size: Int, dictionary: [UInt8]? = nil) -> [UInt8]? {
        var stream = z_stream()
        guard runbook_inflate_init_raw(&stream) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        if let dictionary {
            let rc = dictionary.withUnsafeBufferPointer { d in inflateSetDictionary(&stream, d.baseAddress, uInt(d.count)) }
            guard rc == Z_OK else { return nil }
        }
        var out = [UInt8](repeating: 0, count: size)
        let (rc, left) = once(&stream, deflated, into: &out) { inflate(&$0, Z_FINISH) }
        return rc == Z_STREAM_END && left == 0 ? out : nil
    }

    /// One call of `step` (deflate or inflate) from all of `input` into all of `out`: its return
    /// code and the room left in `out`.
    private static func once(_ stream: inout z_stream, _ input: [UInt8], into out: inout [UInt8],
                             _ step: (inout z_stream) -> Int32) -> (Int32, Int) {
        var input = input
        return input.withUnsafeMutableBufferPointer { inBuf in
            out.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                let rc = step(&stream)
                return (rc, Int(stream.avail_out))
            }
        }
    }
}
