import Foundation

/// A syntax or evaluation error inside a `${{ … }}` expression.
public struct ExpressionError: Error, LocalizedError, Sendable, Equatable {
    public let message: String
    /// Character offset in the text that held the expression (the whole scalar, not just the
    /// expression), used to point at the right column.
    public let offset: Int

    public init(_ message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var errorDescription: String? { message }
}
