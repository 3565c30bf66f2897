/// A position in a source file, 1-based, as editors show it.
public struct Mark: Sendable, Equatable, Hashable {
    public let line: Int
    public let column: Int
    public init(line: Int, column: Int) { self.line = line; self.column = column }
}

/// One validation finding, printed as `FILE:LINE:COLUMN: message`.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let mark: Mark
    public let message: String
    public init(file: String, mark: Mark, message: String) { self.file = file; self.mark = mark; self.message = message }
    public var description: String { "\(file):\(mark.line):\(mark.column): \(message)" }
}
