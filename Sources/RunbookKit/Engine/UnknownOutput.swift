/// A step output a dry-run cannot know (it exists only once the step has run).
///
/// In a dry-run, a `with:` scalar that needs one becomes the text
/// `<unknown until run: steps.ID.outputs.KEY>`: it travels through actions as an ordinary string
/// (an action's preview may quote it inside its summary), so it is marked in the text and found
/// again only here.
enum UnknownOutput {
    static let marker = "<unknown until run: "

    /// The placeholder standing for `reference` (`steps.ID.outputs.KEY`).
    static func placeholder(_ reference: String) -> Value { .string("\(marker)\(reference)>") }

    /// The `steps.ID.outputs.KEY` references behind the placeholders in `v`, in order, once each.
    static func references(in v: Value) -> [String] {
        var found: [String] = []
        func walk(_ v: Value) {
            switch v {
            case .string(let s):
                var rest = s[...]
                while let r = rest.range(of: marker) {
                    let tail = rest[r.upperBound...]
                    let end = tail.firstIndex(of: ">") ?? tail.endIndex
                    let ref = String(tail[..<end])
                    if !found.contains(ref) { found.append(ref) }
                    rest = tail[end...]
                }
            case .array(let a): a.forEach(walk)
            case .object(let o): o.forEach { walk($0.value) }
            default: break
            }
        }
        walk(v)
        return found
    }

    /// Whether `v` holds any placeholder.
    static func isIn(_ v: Value) -> Bool { !references(in: v).isEmpty }
}
