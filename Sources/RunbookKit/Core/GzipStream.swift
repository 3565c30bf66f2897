import CZlib
import Foundation

/// A gzip compression fed piece by piece (as `Gzip.compress` compresses, level 1), which can be
/// copied at any point (zlib's `deflateCopy`): a text whose beginning did not change since it was
/// last compressed continues from a copy made at the end of that beginning, instead of
/// compressing it all again.
final class GzipStream {
    private let stream: UnsafeMutablePointer<z_stream>
    /// Where deflate writes before the bytes join `output`.
    private let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: GzipStream.scratchSize)
    /// The compressed bytes produced so far (zlib may hold more until `finish`).
    private var output: [UInt8] = []
    private var finished = false

    init() throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard runbook_deflate_init_gzip(stream, Z_BEST_SPEED) == Z_OK else {
            stream.deallocate()
            scratch.deallocate()
            throw Gzip.Failure(message: "deflateInit failed")
        }
    }

    private init(copying other: GzipStream) throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard deflateCopy(stream, other.stream) == Z_OK else {
            stream.deallocate()
            scratch.deallocate()
            throw Gzip.Failure(message: "deflateCopy failed")
        }
        output = other.output
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        scratch.deallocate()
    }

    /// A stream that continues from where this one is (this one is left as it is).
    func copy() throws -> GzipStream {
        precondition(!finished, "a finished gzip stream cannot be copied")
        return try GzipStream(copying: self)
    }

    /// Compresses `bytes` (more may follow).
    func write(_ bytes: [UInt8]) throws {
        precondition(!finished, "a finished gzip stream takes no more input")
        guard !bytes.isEmpty else { return }
        try bytes.withUnsafeBufferPointer { input in
            stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.pointee.avail_in = uInt(input.count)
            while stream.pointee.avail_in > 0 { _ = try run(Z_NO_FLUSH) }
            stream.pointee.next_in = nil
        }
    }

    /// Ends the compression: the whole gzip member.
    func finish() throws -> [UInt8] {
        precondition(!finished, "a gzip stream is finished once")
        finished = true
        while try run(Z_FINISH) != Z_STREAM_END {}
        return output
    }

    private static let scratchSize = 16 * 1024

    /// One deflate call; what it produced joins `output`.
    private func run(_ flush: Int32) throws -> Int32 {
        stream.pointee.next_out = scratch
        stream.pointee.avail_out = uInt(GzipStream.scratchSize)
        let rc = deflate(stream, flush)
        output.append(contentsOf: UnsafeBufferPointer(start: scratch, count: GzipStream.scratchSize - Int(stream.pointee.avail_out)))
        stream.pointee.next_out = nil
        guard rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR else {
            throw Gzip.Failure(message: stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)")
        }
        return rc
    }
}
