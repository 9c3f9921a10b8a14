import Foundation

/// What a program under test printed and how it ended.
public struct ProgramRun: Sendable {
    public var status: Int32
    public var stdoutBytes: [UInt8]
    public var stderrBytes: [UInt8]

    public var stdout: String { String(decoding: stdoutBytes, as: UTF8.self) }
    public var stderr: String { String(decoding: stderrBytes, as: UTF8.self) }
    /// Standard output, then standard error.
    public var output: String { stdout + stderr }
}

/// Runs a program to completion: the one way every test target runs a program.
///
/// `openssl`, `psql`, `sqlite3`, `pkcs11-tool`, `bash` or Paraphe's own programs, with `arguments`, an environment
/// (else this process's), a working directory and bytes on standard input. Output goes through files, so no pipe can
/// fill up and block the program.
public func runProgram(
    _ executable: URL, _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil, stdin: [UInt8]? = nil
) throws -> ProgramRun {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("paraphe-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    defer { try? FileManager.default.removeItem(at: scratch) }
    let outURL = scratch.appendingPathComponent("stdout")
    let errURL = scratch.appendingPathComponent("stderr")
    let inURL = scratch.appendingPathComponent("stdin")
    guard FileManager.default.createFile(atPath: outURL.path, contents: nil), FileManager.default.createFile(atPath: errURL.path, contents: nil),
        FileManager.default.createFile(atPath: inURL.path, contents: Data(stdin ?? []))
    else { throw CocoaError(.fileWriteUnknown) }
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = directory }
    let outHandle = try FileHandle(forWritingTo: outURL)
    let errHandle = try FileHandle(forWritingTo: errURL)
    let inHandle = try FileHandle(forReadingFrom: inURL)
    process.standardOutput = outHandle
    process.standardError = errHandle
    process.standardInput = inHandle
    try process.run()
    process.waitUntilExit()
    try outHandle.close()
    try errHandle.close()
    try inHandle.close()
    return ProgramRun(
        status: process.terminationStatus, stdoutBytes: Array(try Data(contentsOf: outURL)), stderrBytes: Array(try Data(contentsOf: errURL)))
}

/// `/usr/bin/openssl` with `arguments`, in `directory` when given.
public func runOpenSSL(_ arguments: [String], in directory: URL? = nil, environment: [String: String]? = nil) throws -> ProgramRun {
    try runProgram(URL(fileURLWithPath: "/usr/bin/openssl"), arguments, environment: environment, directory: directory)
}
