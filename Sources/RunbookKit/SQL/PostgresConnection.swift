import CLibPQ
import Foundation

/// One libpq connection, opened once per DSN for the whole run and reused by every step.
///
/// libpq connections are not safe to share between threads, so every use holds the lock.
public final class PostgresConnection: @unchecked Sendable {
    public let dsn: PostgresDSN
    public let connectTimeout: Int
    private let lock = NSLock()
    private var conn: OpaquePointer?

    /// Opens the connection; `connectTimeout` seconds bound the TCP connect and the login.
    public init(dsn: PostgresDSN, connectTimeout: Int) throws {
        self.dsn = dsn
        self.connectTimeout = max(connectTimeout, 1)
        try connect()
    }

    deinit { if let conn { PQfinish(conn) } }

    private func connect() throws {
        // expand_dbname = 1: the "dbname" value is the user's DSN (URL or keywords), expanded by
        // libpq. Keywords after it override it, so the timeout given here wins.
        let keywords = ["dbname", "connect_timeout", "fallback_application_name"]
        let values = [dsn.text, String(connectTimeout), "runbook"]
        let kw = keywords.map { strdup($0) }
        let vs = values.map { strdup($0) }
        defer { (kw + vs).forEach { free($0) } }
        let kwp: [UnsafePointer<CChar>?] = kw.map { UnsafePointer($0) } + [nil]
        let vsp: [UnsafePointer<CChar>?] = vs.map { UnsafePointer($0) } + [nil]
        let c = PQconnectdbParams(kwp, vsp, 1)
        if let c, PQstatus(c) == CONNECTION_OK {
            conn = c
            return
        }
        let reason = c.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
        if let c { PQfinish(c) }
        throw SQLError.connectFailed(server: dsn.server, reason: clean(reason))
    }

    /// Runs one statement (extended protocol: exactly one statement, so a `;`-separated second
    /// statement cannot escape the read-only transaction). `params` fill `$1…`; nil is NULL.
    public func run(_ sql: String, params: [String?], readonly: Bool) throws -> QueryResult {
        lock.lock()
        defer { lock.unlock() }
        if conn == nil || PQstatus(conn) != CONNECTION_OK {
            if let conn { PQfinish(conn) }
            conn = nil
            try connect()
        }
        if PQtransactionStatus(conn) != PQTRANS_IDLE { _ = try? simple("ROLLBACK") }
        if readonly { try simple("BEGIN READ ONLY") }
        do {
            let result = try execute(sql, params: params)
            if readonly { try simple("COMMIT") }
            return result
        } catch {
            if readonly, PQstatus(conn) == CONNECTION_OK { _ = try? simple("ROLLBACK") }
            throw error
        }
    }

    private func simple(_ sql: String) throws {
        _ = try execute(sql, params: [])
    }

    private func execute(_ sql: String, params: [String?]) throws -> QueryResult {
        let cParams = params.map { $0.map { strdup($0) } ?? nil }
        defer { cParams.forEach { free($0) } }
        let pointers: [UnsafePointer<CChar>?] = cParams.map { $0.map { UnsafePointer($0) } }
        guard let res = PQexecParams(conn, sql, Int32(params.count), nil, pointers, nil, nil, 0) else {
            throw SQLError.connectFailed(server: dsn.server, reason: clean(String(cString: PQerrorMessage(conn))))
        }
        defer { PQclear(res) }
        let status = PQresultStatus(res)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else {
            let message = clean(String(cString: PQresultErrorMessage(res)))
            let state = PQresultErrorField(res, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            if PQstatus(conn) != CONNECTION_OK {
                throw SQLError.connectFailed(server: dsn.server, reason: message)
            }
            throw SQLError.queryFailed(reason: message, sqlState: state)
        }
        let nCols = Int(PQnfields(res))
        let nRows = Int(PQntuples(res))
        let columns = (0..<nCols).map { String(cString: PQfname(res, Int32($0))) }
        let oids = (0..<nCols).map { UInt32(PQftype(res, Int32($0))) }
        var rows: [[Value]] = []
        rows.reserveCapacity(nRows)
        for r in 0..<nRows {
            rows.append((0..<nCols).map { c in
                let isNull = PQgetisnull(res, Int32(r), Int32(c)) == 1
                let text = isNull ? nil : String(cString: PQgetvalue(res, Int32(r), Int32(c)))
                return PostgresType.value(text: text, oid: oids[c])
            })
        }
        let tuples = String(cString: PQcmdTuples(res))
        return QueryResult(columns: columns, rows: rows, affected: Int(tuples))
    }

    /// libpq's text, one line, without the password in any form.
    private func clean(_ message: String) -> String {
        let oneLine = message.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: "; ")
        return PostgresDSN.scrub(oneLine, secrets: dsn.secretForms)
    }
}
