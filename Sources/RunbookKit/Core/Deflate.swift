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
        let bound = Int(deflateBound(&stream, uLong(bytes.count)))
        var out = [UInt8](repeating: 0, count: bound)
        var input = bytes
        let produced: Int = input.withUnsafeMutableBufferPointer { inBuf in
            out.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                let rc = deflate(&stream, Z_FINISH)
                precondition(rc == Z_STREAM_END, "deflate into a buffer of deflateBound's size did not finish (\(rc))")
                return outBuf.count - Int(stream.avail_out)
            }
        }
        // exactly as long as needed: these are kept
        return out.withUnsafeBufferPointer { Array($0[..<produced]) }
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
        var input = deflated
        let ok: Bool = input.withUnsafeMutableBufferPointer { inBuf in
            out.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = inBuf.baseAddress
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                return inflate(&stream, Z_FINISH) == Z_STREAM_END && stream.avail_out == 0
            }
        }
        return ok ? out : nil
    }
}
