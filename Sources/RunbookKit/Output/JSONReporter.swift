import Foundation

/// `--output json`: one event object per line on stdout; notes and progress on stderr.
public struct JSONReporter: Reporter {
    let masker: Masker

    public init(masker: Masker) { self.masker = masker }

    public func report(_ e: ReportEvent) {
        let masked = e.masked(by: masker)
        if e.kind == .stepLog {
            Console.err(masker.mask("[\(e.step ?? "")] \(masked.message ?? "")"))
            return
        }
        Console.out(masker.mask(masker.mask(masked.toValue()).jsonString()))
    }

    public func note(_ line: String) { Console.err(masker.mask(line)) }
}
