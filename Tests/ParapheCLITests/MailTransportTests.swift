import Foundation
import Testing

/// `--mail sendmail:PATH`: the Unix convention (the message on standard input, `-i -- RECIPIENT`), and the
/// outbox keeping what a failing program did not take until a later delivery.
@Suite struct MailTransportTests {
    /// A sendmail stand-in: appends its arguments and the message to files in `folder`; exits `status`.
    func fakeSendmail(_ folder: URL, exitStatus: Int) throws -> URL {
        let script = folder.appendingPathComponent("sendmail-\(exitStatus)")
        try """
        #!/bin/sh
        n=$(ls "\(folder.path)" | grep -c '^message-' || true)
        [ \(exitStatus) -eq 0 ] || exit \(exitStatus)
        printf '%s\\n' "$*" > "\(folder.path)/arguments-$n"
        cat > "\(folder.path)/message-$n"
        """.write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        return script
    }

    func approve(_ scratch: Scratch, mail: String, email: String) throws -> RunResult {
        let answers = try scratch.file("answers-\(UUID().uuidString)", "Montréal\nRex\nBleu\n")
        return try scratch.authority([
            "approve", "--name", "Jeanne Tremblay", "--email", email, "--question", "q1?", "--question", "q2?",
            "--question", "q3?", "--answers-file", answers, "--mail", mail,
        ])
    }

    @Test func aSendmailProgramGetsTheMessageAndAFailureWaitsInTheOutboxUntilTheNextDelivery() throws {
        let scratch = try Scratch(.embedded)
        let folder = scratch.url.appendingPathComponent("sent")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)

        let failing = try approve(scratch, mail: "sendmail:" + (try fakeSendmail(folder, exitStatus: 75)).path, email: "first@example.com")
        #expect(failing.status == 0, "\(failing.stderr)")
        #expect(failing.stderr.contains("in the outbox"), "\(failing.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("message-") }.isEmpty)

        let working = try approve(scratch, mail: "sendmail:" + (try fakeSendmail(folder, exitStatus: 0)).path, email: "second@example.com")
        #expect(working.stderr.contains("handed to the mail system"), "\(working.stderr)")
        // Its own email, then the one that waited: each once.
        let messages = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix("message-") }.sorted()
        #expect(messages.count == 2)
        let arguments = try (0..<2).map { try String(contentsOf: folder.appendingPathComponent("arguments-\($0)"), encoding: .utf8) }
        #expect(arguments.sorted() == ["-i -- first@example.com\n", "-i -- second@example.com\n"])
        for name in messages {
            let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            #expect(text.contains("Message-ID: <") && text.contains("/activate/"))
        }
        // Nothing went to the Maildir.
        let maildir = scratch.url.appendingPathComponent("data/mail/new")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: maildir.path)) ?? []).isEmpty)
    }
}
