import CZlib
import Foundation

/// gzip (RFC 1952) with zlib, for run records kept in the cluster (compressed as Helm 3
/// compresses its release records).
public enum Gzip {
    public struct Failure: Error, LocalizedError, Sendable {
        public let message: String
        public var errorDescription: String? { "gzip: \(message)" }
    }

    public static func compress(_ data: Data) throws -> Data {
        var stream = z_stream()
        guard runbook_deflate_init_gzip(&stream, Z_BEST_SPEED) == Z_OK else { throw Failure(message: "deflateInit failed") }
        defer { deflateEnd(&stream) }
        return try run(&stream, input: data) { deflate(&$0, Z_FINISH) }
    }

    public static func decompress(_ data: Data) throws -> Data {
        var stream = z_stream()
        guard runbook_inflate_init_gzip(&stream) == Z_OK else { throw Failure(message: "inflateInit failed") }
        defer { inflateEnd(&stream) }
        return try run(&stream, input: data) { inflate(&$0, Z_NO_FLUSH) }
    }

    private static func run(_ stream: inout z_stream, input: Data, step: (inout z_stream) -> Int32) throws -> Data {
        var input = [UInt8](input)
        var out = Data()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        return try input.withUnsafeMutableBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = uInt(inBuf.count)
            while true {
                let rc: Int32 = chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(outBuf.count)
                    return step(&stream)
                }
                let produced = chunk.count - Int(stream.avail_out)
                out.append(contentsOf: chunk[0..<produced])
                if rc == Z_STREAM_END { return out }
                guard rc == Z_OK || (rc == Z_BUF_ERROR && produced > 0) else {
                    let msg = stream.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                    throw Failure(message: rc == Z_BUF_ERROR ? "truncated input" : msg)
                }
            }
        }
    }
}
